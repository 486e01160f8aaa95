// Episode intake alone: which queued messages become history events, in which order, and what is left
// for a later episode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { takeMessages } from '../../../local/durable/episode-intake.js';
import { freshRuntime } from '../../../local/durable/episode-plan.js';
import { EventType, type HistoryEvent, makeEvent } from '../../../local/durable/history.js';
import type { InstanceRuntime, MessageRow } from '../../../local/durable/sqlite-store.js';

const ts = '2026-01-01T00:00:00.000Z';
let nextId = 1;
const msg = (event: HistoryEvent, executionId: string | null = 'e1'): MessageRow => ({
  id: nextId++,
  instanceId: 'i',
  executionId,
  event,
});
const started = (pending: InstanceRuntime['pending'] = {}): InstanceRuntime => ({
  started: true,
  nextSeq: 3,
  actionsProcessed: 1,
  pending,
});
const types = (events: HistoryEvent[]) => events.map((e) => e.EventType);

test('the ExecutionStarted of a new execution goes first, even behind an earlier event', () => {
  const raised = msg(makeEvent(EventType.EventRaised, ts, { Name: 'go' }), null);
  const start = msg(makeEvent(EventType.ExecutionStarted, ts, { Name: 'o' }));
  const runtime = freshRuntime();
  const r = takeMessages({ executionId: 'e1', status: 'Pending' }, runtime, [raised, start]);
  assert.deepEqual(types(r.newEvents), [EventType.ExecutionStarted, EventType.EventRaised]);
  assert.deepEqual(r.consumed, [start.id, raised.id]);
  assert.equal(r.status, 'Running');
  assert.equal(r.work, true);
  assert.equal(runtime.started, true);
});

test('before its start, other messages wait unconsumed', () => {
  const raised = msg(makeEvent(EventType.EventRaised, ts, { Name: 'go' }), null);
  const r = takeMessages({ executionId: 'e1', status: 'Pending' }, freshRuntime(), [raised]);
  assert.deepEqual(r.consumed, []);
  assert.equal(r.work, false);
});

test("another execution's messages and duplicate completions are consumed and dropped", () => {
  const runtime = started({ 0: { kind: 'activity', name: 'A', input: '1' } });
  const old = msg(makeEvent(EventType.TaskCompleted, ts, { TaskScheduledId: 0, Result: '1' }), 'e0');
  const done = msg(makeEvent(EventType.TaskCompleted, ts, { TaskScheduledId: 0, Result: '2' }));
  const dup = msg(makeEvent(EventType.TaskCompleted, ts, { TaskScheduledId: 0, Result: '2' }));
  const r = takeMessages({ executionId: 'e1', status: 'Running' }, runtime, [old, done, dup]);
  assert.deepEqual(r.consumed, [old.id, done.id, dup.id]);
  assert.deepEqual(
    r.newEvents.map((e) => e.Result),
    ['2'],
  );
  assert.deepEqual(runtime.pending, {}, 'the completed task is no longer pending');
});

test('suspend holds later work (no self-wake); resume in the same batch releases it', () => {
  const runtime = started({ 0: { kind: 'timer' } });
  const suspend = msg(makeEvent(EventType.ExecutionSuspended, ts, { Reason: 'x' }), null);
  const fired = msg(makeEvent(EventType.TimerFired, ts, { TimerId: 0 }));
  const r = takeMessages({ executionId: 'e1', status: 'Running' }, runtime, [suspend, fired]);
  assert.equal(r.status, 'Suspended');
  assert.deepEqual(r.consumed, [suspend.id]);
  assert.equal(r.wakeSelf, false);
  assert.equal(r.work, false);

  const resume = msg(makeEvent(EventType.ExecutionResumed, ts, { Reason: 'y' }), null);
  const r2 = takeMessages({ executionId: 'e1', status: 'Suspended' }, started({ 0: { kind: 'timer' } }), [
    resume,
    fired,
  ]);
  assert.equal(r2.status, 'Running');
  assert.deepEqual(types(r2.newEvents), [EventType.ExecutionResumed, EventType.TimerFired]);
  assert.equal(r2.work, true);
});

test('terminate ends the intake: everything after it is consumed as stale', () => {
  const term = msg(makeEvent(EventType.ExecutionTerminated, ts, { Input: 'bye' }), null);
  const raised = msg(makeEvent(EventType.EventRaised, ts, { Name: 'go' }), null);
  const r = takeMessages({ executionId: 'e1', status: 'Running' }, started(), [term, raised]);
  assert.equal(r.terminateReason, 'bye');
  assert.equal(r.status, 'Terminated');
  assert.deepEqual(r.consumed, [term.id, raised.id]);
  assert.deepEqual(types(r.newEvents), [EventType.ExecutionTerminated]);
});

test('a failed attempt of a retried task is the last event of its episode; the rest runs next', () => {
  const retry = {
    options: { firstRetryIntervalInMilliseconds: 10, maxNumberOfAttempts: 3 },
    attempt: 1,
    firstAttemptAt: 0,
  };
  const runtime = started({ 0: { kind: 'activity', name: 'A', input: '1', retry }, 1: { kind: 'timer' } });
  const failed = msg(makeEvent(EventType.TaskFailed, ts, { TaskScheduledId: 0, Reason: 'boom' }));
  const fired = msg(makeEvent(EventType.TimerFired, ts, { TimerId: 1 }));
  const r = takeMessages({ executionId: 'e1', status: 'Running' }, runtime, [failed, fired]);
  assert.equal(r.retryEvent?.event.Reason, 'boom');
  assert.deepEqual(r.consumed, [failed.id]);
  assert.equal(r.wakeSelf, true, 'the timer is taken in the next episode, at once');
});
