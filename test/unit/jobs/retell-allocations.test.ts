import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Allocation } from '../../../shared/domain/scheduling.js';
import { ToldAllocations } from '../../../shared/jobs/retell-allocations.js';

const alloc = (jobId: string, attempt = 1): Allocation => ({
  jobId,
  attempt,
  priority: 'normal',
  nodeIds: [`n-${jobId}`],
  startedAt: '2026-01-01T00:00:00.000Z',
  deadline: '2026-01-01T01:00:00.000Z',
  queuedAt: '2026-01-01T00:00:00.000Z',
  nodeCount: 1,
  maxWallClockMs: 3_600_000,
  backfilled: false,
});
const ids = (list: readonly Allocation[]) => list.map((a) => `${a.jobId}#${a.attempt}`);

test('a process tells each allocation once: the ones it gave now and the ones it told are not untold', () => {
  const told = new ToldAllocations();
  const [a, b, c] = [alloc('a'), alloc('b'), alloc('c')];
  // A fresh process (after a restart) has told nothing: every allocation it did not give in this pass is untold.
  assert.deepEqual(ids(told.untold('k', [a, b, c], [c])), ['a#1', 'b#1']);
  told.add('k', a);
  told.add('k', c);
  assert.deepEqual(ids(told.untold('k', [a, b, c], [])), ['b#1'], 'b could not be told: still untold');
  told.add('k', { ...b, jobId: 'B' });
  assert.deepEqual(ids(told.untold('k', [a, b, c], [])), [], 'job ids compare without case');
  assert.deepEqual(ids(told.untold('other', [a], [])), ['a#1'], 'per cluster');
});

test('what the document no longer holds is forgotten: a new attempt of a job is a new allocation', () => {
  const told = new ToldAllocations();
  told.untold('k', [alloc('a')], []);
  told.add('k', alloc('a'));
  assert.deepEqual(ids(told.untold('k', [alloc('a', 2)], [])), ['a#2']);
  // Released, then given again under the same attempt: a new allocation too.
  assert.deepEqual(ids(told.untold('k', [], [])), []);
  assert.deepEqual(ids(told.untold('k', [alloc('a')], [])), ['a#1']);
});

test('remembered clusters are bounded: the least recently used is forgotten first', () => {
  const told = new ToldAllocations();
  told.untold('first', [alloc('a')], []);
  told.add('first', alloc('a'));
  for (let i = 0; i < 1000; i++) told.untold(`c${i}`, [], []);
  assert.deepEqual(ids(told.untold('first', [alloc('a')], [])), ['a#1'], 'forgotten, so told again');
});
