import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Allocation } from '../../../shared/domain/scheduling.js';
import { forEachLimited, RETELL_AFTER_MS, ToldAllocations } from '../../../shared/jobs/retell-allocations.js';

const BOOT = Date.parse('2026-01-01T00:10:00.000Z'); // when the process started
const BEFORE = '2026-01-01T00:00:00.000Z'; // an allocation made before it

const alloc = (jobId: string, attempt = 1, startedAt = BEFORE): Allocation => ({
  jobId,
  attempt,
  priority: 'normal',
  nodeIds: [`n-${jobId}`],
  startedAt,
  deadline: '2026-01-01T01:00:00.000Z',
  queuedAt: '2026-01-01T00:00:00.000Z',
  nodeCount: 1,
  maxWallClockMs: 3_600_000,
  backfilled: false,
});
const ids = (list: readonly Allocation[]) => list.map((a) => `${a.jobId}#${a.attempt}`);
const NOW = BOOT + 60_000;

test('a process tells each allocation once: the ones it gave now and the ones it told are not untold', () => {
  const told = new ToldAllocations(BOOT);
  const [a, b, c] = [alloc('a'), alloc('b'), alloc('c')];
  // A fresh process (after a restart) has told nothing: every allocation it did not give in this pass is untold.
  assert.deepEqual(ids(told.untold('k', [a, b, c], [c], NOW)), ['a#1', 'b#1']);
  told.add('k', a);
  told.add('k', c);
  assert.deepEqual(ids(told.untold('k', [a, b, c], [], NOW)), ['b#1'], 'b could not be told: still untold');
  told.add('k', { ...b, jobId: 'B' });
  assert.deepEqual(ids(told.untold('k', [a, b, c], [], NOW)), [], 'job ids compare without case');
  assert.deepEqual(ids(told.untold('other', [a], [], NOW)), ['a#1'], 'per cluster');
});

test('an allocation another process made since this one started is due only once its own telling had time', () => {
  const told = new ToldAllocations(BOOT);
  const made = new Date(NOW - 1_000).toISOString();
  assert.deepEqual(ids(told.untold('k', [alloc('young', 1, made)], [], NOW)), [], 'its pass is likely telling it');
  const later = Date.parse(made) + RETELL_AFTER_MS;
  assert.deepEqual(ids(told.untold('k', [alloc('young', 1, made)], [], later)), ['young#1'], 'still untold: due');
  // Made before this process started: nothing of this process can still be telling it, whatever its age.
  const justBefore = new Date(BOOT - 1).toISOString();
  assert.deepEqual(ids(told.untold('k', [alloc('old', 1, justBefore)], [], BOOT)), ['old#1']);
});

test('what the document no longer holds is forgotten: a new attempt of a job is a new allocation', () => {
  const told = new ToldAllocations(BOOT);
  told.untold('k', [alloc('a')], [], NOW);
  told.add('k', alloc('a'));
  assert.deepEqual(ids(told.untold('k', [alloc('a', 2)], [], NOW)), ['a#2']);
  // Released, then given again under the same attempt: a new allocation too.
  assert.deepEqual(ids(told.untold('k', [], [], NOW)), []);
  assert.deepEqual(ids(told.untold('k', [alloc('a')], [], NOW)), ['a#1']);
});

test('remembered clusters are bounded: the least recently used is forgotten first', () => {
  const told = new ToldAllocations(BOOT);
  told.untold('first', [alloc('a')], [], NOW);
  told.add('first', alloc('a'));
  for (let i = 0; i < 1000; i++) told.untold(`c${i}`, [], [], NOW);
  assert.deepEqual(ids(told.untold('first', [alloc('a')], [], NOW)), ['a#1'], 'forgotten, so told again');
});

test('lifecycles are asked a bounded number at a time, every one of them', async () => {
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  await forEachLimited(
    Array.from({ length: 50 }, (_, i) => i),
    async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      seen.push(i);
      running--;
    },
  );
  assert.equal(seen.length, 50);
  assert.deepEqual(
    [...seen].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.ok(peak > 1 && peak <= 16, `at most 16 at once (peak ${peak})`);
});
