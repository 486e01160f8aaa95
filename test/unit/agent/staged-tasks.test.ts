// The staged-task bookkeeping of the agent (decision 0120): when a staged runTask starts, what startStaged and
// unstageTask find, and what the boot remembers (bounded).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StagedTasks } from '../../../agent/staged-tasks.js';

const ref = (taskId: string, jobId = 'job', attempt = 1) => ({ jobId, attempt, taskId });

test('an ordinary runTask starts; a staged one waits for every task of `after`, then is handed back once', () => {
  const s = new StagedTasks<string>();
  assert.deepEqual(s.arrive(ref('a.0', 'A'), undefined, 'A'), { action: 'start' });
  assert.deepEqual(s.arrive(ref('a.1', 'A'), undefined, 'A1'), { action: 'start' });
  assert.deepEqual(s.arrive(ref('b.0', 'B'), ['a.0', 'a.1'], 'B'), { action: 'stage', waitingFor: ['a.0', 'a.1'] });
  assert.equal(s.size, 1);
  assert.deepEqual(s.taskExited('a.0'), []);
  assert.deepEqual(s.taskExited('unrelated'), []);
  assert.deepEqual(s.taskExited('a.1'), ['B']);
  assert.equal(s.size, 0);
  assert.deepEqual(s.taskExited('a.1'), [], 'handed back once');
});

test('a task that exited before the staged command arrived counts; one never received does not', () => {
  const s = new StagedTasks<string>();
  s.arrive(ref('a.0', 'A'), undefined, 'A');
  s.taskExited('a.0');
  assert.deepEqual(s.arrive(ref('b.0', 'B'), ['a.0'], 'B'), { action: 'start' });
  assert.deepEqual(s.arrive(ref('c.0', 'C'), ['a.0', 'never.0'], 'C'), { action: 'stage', waitingFor: ['never.0'] });
});

test('a staged task waits for a task whose runTask comes after it', () => {
  const s = new StagedTasks<string>();
  assert.equal(s.arrive(ref('b.0', 'B'), ['a.0'], 'B').action, 'stage');
  assert.equal(s.arrive(ref('a.0', 'A'), undefined, 'A').action, 'start');
  assert.deepEqual(s.taskExited('a.0'), ['B']);
});

test('a new run of a task id is waited for, not the exit of its earlier run (a retried attempt reuses ids)', () => {
  const s = new StagedTasks<string>();
  s.arrive(ref('a.0', 'A', 1), undefined, 'A1');
  s.taskExited('a.0');
  assert.equal(s.arrive(ref('a.0', 'A', 2), undefined, 'A2').action, 'start');
  assert.equal(s.arrive(ref('b.0', 'B'), ['a.0'], 'B').action, 'stage');
  assert.deepEqual(s.taskExited('a.0'), ['B']);
});

test('the same staged task sent twice is staged once; sent again without `after`, it starts now', () => {
  const s = new StagedTasks<string>();
  assert.equal(s.arrive(ref('b.0'), ['a.0'], 'first').action, 'stage');
  assert.deepEqual(s.arrive(ref('b.0'), ['a.0'], 'second'), { action: 'duplicate' });
  assert.deepEqual(s.arrive(ref('b.0'), undefined, 'now'), { action: 'start' });
  assert.equal(s.size, 0);
  assert.deepEqual(s.taskExited('a.0'), [], 'no longer staged');
});

test('startStaged releases a staged task, does nothing for one that left the stage, leaves a token otherwise', () => {
  const s = new StagedTasks<string>();
  s.arrive(ref('b.0'), ['a.0'], 'B');
  assert.deepEqual(s.release(ref('b.0')), { outcome: 'released', payload: 'B' });
  assert.deepEqual(s.release(ref('b.0')), { outcome: 'received' });
  assert.deepEqual(s.taskExited('a.0'), []);
  assert.deepEqual(s.release(ref('c.0')), { outcome: 'token' });
  assert.equal(s.arrive(ref('c.0', 'job', 2), ['z.0'], 'C2').action, 'stage', 'tokens are per (job, attempt)');
  assert.deepEqual(s.arrive(ref('c.0'), ['z.0'], 'C'), { action: 'start' }, 'the token starts it at once');
});

test('unstageTask drops a staged task, cancels one not yet received, and reports one that started', () => {
  const s = new StagedTasks<string>();
  s.arrive(ref('b.0'), ['a.0'], 'B');
  assert.equal(s.unstage(ref('b.0')), 'dropped');
  assert.deepEqual(s.taskExited('a.0'), [], 'a dropped task never starts');
  assert.equal(s.unstage(ref('c.0')), 'dropped');
  assert.deepEqual(s.arrive(ref('c.0'), ['a.0'], 'C'), { action: 'cancelled' });
  assert.deepEqual(
    s.arrive(ref('c.0'), undefined, 'C'),
    { action: 'start' },
    'the job given back, started the ordinary way later, runs',
  );
  s.arrive(ref('d.0'), undefined, 'D');
  assert.equal(s.unstage(ref('d.0')), 'received');
  s.release(ref('e.0'));
  assert.equal(s.unstage(ref('e.0')), 'dropped', 'a cancellation beats an earlier go token');
  assert.deepEqual(s.arrive(ref('e.0'), ['a.0'], 'E'), { action: 'cancelled' });
});

test('drop (killTask) removes a staged task only', () => {
  const s = new StagedTasks<string>();
  s.arrive(ref('b.0'), ['a.0'], 'B');
  assert.equal(s.drop(ref('b.0')), true);
  assert.equal(s.drop(ref('b.0')), false);
  assert.deepEqual(s.taskExited('a.0'), []);
  s.arrive(ref('c.0'), ['a.1'], 'C');
  s.clear();
  assert.deepEqual(s.taskExited('a.1'), [], 'cleared at stop');
});

test('killTask on a task never received: a runTask for it arriving later, staged or not, never runs', () => {
  const s = new StagedTasks<string>();
  assert.equal(s.killUnstarted(ref('k.0')), 'unknown');
  assert.deepEqual(s.arrive(ref('k.0'), undefined, 'K'), { action: 'cancelled' });
  assert.deepEqual(s.arrive(ref('k.0'), ['a.0'], 'K'), { action: 'cancelled' });
  assert.equal(s.release(ref('k.0')).outcome, 'token', 'never received');
  // One that came and left the stage (it ran): nothing to remember.
  assert.deepEqual(s.arrive(ref('r.0'), undefined, 'R'), { action: 'start' });
  assert.equal(s.killUnstarted(ref('r.0')), 'received');
  // Another attempt of the same task is another task.
  assert.deepEqual(s.arrive({ ...ref('k.0'), attempt: 2 }, undefined, 'K2'), { action: 'start' });
});

test('what a boot remembers is bounded: the oldest exits, tokens and cancellations are forgotten first', () => {
  const s = new StagedTasks<string>(3);
  for (const id of ['x.0', 'x.1', 'x.2', 'x.3']) s.taskExited(id);
  assert.deepEqual(s.arrive(ref('b.0'), ['x.1', 'x.2', 'x.3'], 'B'), { action: 'start' });
  assert.deepEqual(s.arrive(ref('c.0'), ['x.0'], 'C'), { action: 'stage', waitingFor: ['x.0'] });
  for (const id of ['t0', 't1', 't2', 't3']) s.release(ref(id));
  assert.equal(s.arrive(ref('t0'), ['never'], 'T0').action, 'stage', 'the oldest token was forgotten');
  assert.equal(s.arrive(ref('t3'), ['never'], 'T3').action, 'start');
});
