import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BUSY_DELAY_MS,
  CommandPace,
  HOT_DELAY_MS,
  HOT_WINDOW_MS,
  IDLE_DELAYS_MS,
} from '../../../agent/command-pace.js';

const slowest = IDLE_DELAYS_MS[IDLE_DELAYS_MS.length - 1] ?? 0;

/** A pace on a clock the test moves, after `polls` empty receives. */
function paceAfterEmptyPolls(polls: number) {
  const clock = { now: 1_000_000 };
  const pace = new CommandPace(() => clock.now);
  for (let i = 0; i < polls; i++) pace.received(0);
  return { pace, clock };
}

test('an idle agent backs off to the slowest step and stays there (bounded polling, no spinning)', () => {
  const { pace } = paceAfterEmptyPolls(50);
  assert.equal(pace.delayMs(false), slowest);
  assert.ok(slowest >= 200, 'an idle agent polls at most ~5 times a second');
  assert.ok(slowest < 1000, 'an idle cluster still starts a job within a second');
});

test('a message makes the next poll immediate', () => {
  const { pace } = paceAfterEmptyPolls(50);
  pace.received(3);
  assert.equal(pace.delayMs(false), 0);
});

test('after one of its tasks exits the agent polls fast for the hot window, then backs off again', () => {
  const { pace, clock } = paceAfterEmptyPolls(50);
  pace.taskExited();
  for (let i = 0; i < 50; i++) {
    assert.ok(pace.delayMs(false) <= HOT_DELAY_MS, `poll ${i} in the hot window waits at most ${HOT_DELAY_MS} ms`);
    pace.received(0);
    clock.now += HOT_DELAY_MS;
  }
  clock.now += HOT_WINDOW_MS;
  pace.received(0);
  assert.equal(pace.delayMs(false), slowest, 'idle again once the window has passed without a command');
});

test('while tasks run the wait is capped, and it returns to the idle pace when they are done', () => {
  const { pace } = paceAfterEmptyPolls(50);
  assert.equal(pace.delayMs(true), Math.min(slowest, BUSY_DELAY_MS));
  assert.equal(pace.delayMs(false), slowest);
});

test('the fast polling after an exit ends as soon as a command comes', () => {
  const { pace } = paceAfterEmptyPolls(50);
  pace.taskExited();
  assert.ok(pace.delayMs(false) <= HOT_DELAY_MS);
  pace.received(1);
  for (let i = 0; i < 50; i++) pace.received(0);
  assert.equal(pace.delayMs(false), slowest, 'idle pace again without waiting for the window to end');
  assert.equal(pace.delayMs(true), Math.min(slowest, BUSY_DELAY_MS), 'the running task caps it, not the window');
});
