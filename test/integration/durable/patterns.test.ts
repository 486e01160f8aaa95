// Orchestration patterns on the real replay engine through the local host: sequence, fan-out/fan-in,
// retries, timers, external events, sub-orchestrations, continueAsNew, Task.any, custom status, failures.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DurableHost, startDurableHost, waitFor, waitForFinal, waitForStatus } from './harness.js';

describe('durable orchestration patterns', () => {
  let h: DurableHost;
  before(async () => {
    h = await startDurableHost();
  });
  after(async () => {
    await h.stop();
  });

  it('runs a function chain (sequence) to completion', async () => {
    const id = await h.client.startNew('HelloSequence');
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Completed');
    assert.deepEqual(s.output, ['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']);
    assert.equal(s.name, 'HelloSequence');
  });

  it('fans out and in with Task.all', async () => {
    const id = await h.client.startNew('FanOutFanIn', { input: 20 });
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Completed');
    assert.equal(s.output, 420);
  });

  it('retries a failing activity until it succeeds', async () => {
    const id = await h.client.startNew('RetryActivity', {
      input: { key: 'retry-ok', failures: 2, maxAttempts: 4, firstRetryMs: 40, backoff: 2 },
    });
    const started = Date.now();
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Completed');
    assert.deepEqual(s.output, { attempts: 3 });
    // two retry timers: 40 ms then 80 ms
    assert.ok(Date.now() - started >= 110, `retries waited their back-off (${Date.now() - started} ms)`);
  });

  it('fails the orchestration when retries are exhausted', async () => {
    const id = await h.client.startNew('RetryActivity', {
      input: { key: 'retry-never', failures: 100, maxAttempts: 3, firstRetryMs: 20 },
    });
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Failed');
    assert.match(String(s.output), /flaky failure 3 for retry-never/);
  });

  it('interleaves retries of several tasks in one Task.all', async () => {
    const id = await h.client.startNew('ParallelRetries');
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Completed', JSON.stringify(s.output));
    assert.deepEqual(s.output, {
      results: [{ attempts: 2 }, { attempts: 4 }, 10, { attempts: 3 }],
      after: 42,
    });
  });

  it('surfaces a failed sub-orchestration as an error the parent can catch', async () => {
    const id = await h.client.startNew('CatchChildFailure');
    const s = await waitForFinal(h.client, id);
    assert.equal(s.output, 'caught: true');
  });

  it('stops retrying once retryTimeout has elapsed', async () => {
    const id = await h.client.startNew('RetryActivity', {
      input: { key: 'retry-timeout', failures: 100, maxAttempts: 50, firstRetryMs: 60, retryTimeoutMs: 100 },
    });
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Failed');
    assert.match(String(s.output), /flaky failure/);
  });

  it('fires a durable timer at its due time', async () => {
    const started = Date.now();
    const id = await h.client.startNew('TimerOrchestration', { input: 300 });
    const s = await waitForFinal(h.client, id);
    const took = Date.now() - started;
    assert.equal(s.runtimeStatus, 'Completed');
    assert.equal((s.output as { fired: boolean }).fired, true);
    assert.ok((s.output as { elapsedMs: number }).elapsedMs >= 300);
    assert.ok(took >= 300 && took < 10_000, `timer took ${took} ms`);
  });

  it('delivers an external event raised after the orchestration waits', async () => {
    const id = await h.client.startNew('WaitForEvent');
    await waitForStatus(h.client, id, 'Running');
    await new Promise((r) => setTimeout(r, 50));
    await h.client.raiseEvent(id, 'Approval', { by: 'alice' });
    const s = await waitForFinal(h.client, id);
    assert.deepEqual(s.output, { approved: { by: 'alice' } });
  });

  it('buffers an external event raised before the orchestration waits', async () => {
    const id = await h.client.startNew('WaitForEvent', { instanceId: `early-${Date.now()}` });
    // Raised immediately: usually before the first episode has run at all.
    await h.client.raiseEvent(id, 'Approval', 'early');
    const s = await waitForFinal(h.client, id);
    assert.deepEqual(s.output, { approved: 'early' });
  });

  it('buffers an event raised while the orchestration is still busy before its wait', async () => {
    const id = await h.client.startNew('ActivityThenWait');
    await waitForStatus(h.client, id, 'Running');
    await h.client.raiseEvent(id, 'Later', 42);
    const s = await waitForFinal(h.client, id);
    assert.deepEqual(s.output, { got: 42 });
  });

  it('keeps a 40-day durable timer pending (no setTimeout overflow firing it at once)', async () => {
    const id = await h.client.startNew('LongTimer', { input: 40 });
    await waitForStatus(h.client, id, 'Running');
    // The timer committed to history is the signal: an overflowing setTimeout would fire it right after.
    type HistoryEvent = { EventType: string; FireAt?: string };
    let s = await h.client.getStatus(id, { showHistory: true });
    for (
      let i = 0;
      i < 300 && !((s.history ?? []) as HistoryEvent[]).some((e) => e.EventType === 'TimerCreated');
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      s = await h.client.getStatus(id, { showHistory: true });
    }
    assert.equal(s.runtimeStatus, 'Running');
    assert.ok(!((s.history ?? []) as HistoryEvent[]).some((e) => e.EventType === 'TimerFired'));
    const created = ((s.history ?? []) as HistoryEvent[]).find((e) => e.EventType === 'TimerCreated');
    assert.ok(created?.FireAt && Date.parse(created.FireAt) - Date.now() > 39 * 86_400_000);
    await h.client.terminate(id, 'test over');
    await waitForFinal(h.client, id);
  });

  it('runs sub-orchestrations, with a fixed child id and with retry', async () => {
    const id = await h.client.startNew('SubOrchestrations', { instanceId: `parent-${Date.now()}` });
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Completed', JSON.stringify(s.output));
    const out = s.output as { a: string[]; b: number; c: { attempts: number } };
    assert.deepEqual(out.a, ['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']);
    assert.equal(out.b, 12);
    assert.deepEqual(out.c, { attempts: 2 });
    const child = await h.client.getStatus(`${id}-fan`);
    assert.equal(child.runtimeStatus, 'Completed');
    assert.equal(child.output, 12);
  });

  it('loops with continueAsNew and truncates history', async () => {
    const id = await h.client.startNew('Counter', { input: { n: 0, limit: 6 } });
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Completed');
    assert.equal(s.output, 6);
    const withHistory = await h.client.getStatus(id, { showHistory: true });
    const events = (withHistory.history ?? []) as { EventType: string }[];
    // Only the last generation's history is kept.
    assert.equal(events.filter((e) => e.EventType === 'ExecutionStarted').length, 1);
    assert.ok(events.length < 10, `history truncated (${events.length} events)`);
  });

  it('carries external events across continueAsNew generations', async () => {
    const id = await h.client.startNew('EventCounter');
    await h.client.raiseEvent(id, 'Add', 1);
    await h.client.raiseEvent(id, 'Add', 2);
    await h.client.raiseEvent(id, 'Add', 3);
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Completed');
    assert.equal(s.output, 6);
  });

  it('races a timer against an event with Task.any (event wins)', async () => {
    const id = await h.client.startNew('RaceTimerVsEvent', { input: 60_000 });
    await waitForStatus(h.client, id, 'Running');
    await h.client.raiseEvent(id, 'Ping', 'pong');
    const s = await waitForFinal(h.client, id);
    assert.deepEqual(s.output, { winner: 'event', value: 'pong' });
  });

  it('races a timer against an event with Task.any (timer wins)', async () => {
    const id = await h.client.startNew('RaceTimerVsEvent', { input: 100 });
    const s = await waitForFinal(h.client, id);
    assert.deepEqual(s.output, { winner: 'timer' });
  });

  it('reports custom status', async () => {
    const id = await h.client.startNew('CustomStatus');
    const waiting = await waitFor('custom status', async () => {
      const s = await h.client.getStatus(id);
      return s.customStatus ? s : undefined;
    });
    assert.deepEqual(waiting.customStatus, { stage: 'waiting' });
    assert.equal(waiting.runtimeStatus, 'Running');
    await h.client.raiseEvent(id, 'Go', 7);
    const s = await waitForFinal(h.client, id);
    assert.deepEqual(s.customStatus, { stage: 'done', v: 7 });
    assert.equal(s.output, 7);
  });

  it('marks an orchestration that throws as Failed with its message', async () => {
    const id = await h.client.startNew('Failing');
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Failed');
    assert.match(String(s.output), /orchestrator exploded/);
  });
});
