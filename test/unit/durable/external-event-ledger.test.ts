// The raised-event ledger alone: events go to open waits or are kept, waits take kept events, and an open wait
// that a compound action puts out again is not a second wait.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  emptyLedger,
  recordRaisedEvents,
  recordWaits,
  unconsumedEvents,
} from '../../../local/durable/external-event-ledger.js';
import { ActionType, EventType, makeEvent, type WireAction } from '../../../local/durable/history.js';

const ts = '2026-01-01T00:00:00.000Z';
const raised = (name: string, input = '') => makeEvent(EventType.EventRaised, ts, { Name: name, Input: input });
const wait = (name: string): WireAction => ({ actionType: ActionType.WaitForExternalEvent, externalEventName: name });
const any = (...compoundActions: WireAction[]): WireAction => ({ actionType: ActionType.WhenAny, compoundActions });

test('an event with no open wait is kept until a wait takes it; the newest kept ones are unconsumed', () => {
  const l = emptyLedger();
  const events = [raised('a', '1'), raised('a', '2'), raised('b', '3')];
  recordRaisedEvents(l, events);
  assert.deepEqual(l.buffered, { a: 2, b: 1 });
  recordWaits(l, [wait('a')]);
  assert.deepEqual(l.buffered, { a: 1, b: 1 });
  assert.deepEqual(
    unconsumedEvents(l, events).map((e) => e.Input),
    ['2', '3'],
  );
});

test('a wait put out again inside a new Task.any is the same wait; a fresh one beside it is not', () => {
  const l = emptyLedger();
  recordWaits(l, [any(wait('x'), wait('stop'))]);
  assert.deepEqual(l.open, { x: 1, stop: 1 });
  // Next Task.any: `stop` again (the same open wait), and a new wait for `y`.
  recordWaits(l, [any(wait('y'), wait('stop'))]);
  assert.deepEqual(l.open, { x: 1, stop: 1, y: 1 });
  recordRaisedEvents(l, [raised('stop'), raised('stop')]);
  assert.deepEqual(l.open.stop, 0);
  assert.deepEqual(l.buffered, { stop: 1 }, 'one wait took one event; the second is kept');
  // A bare wait is always new, even with another of its name open.
  recordWaits(l, [wait('x')]);
  assert.equal(l.open.x, 2);
});
