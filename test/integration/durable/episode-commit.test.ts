// Episode commit alone, on a real SQLite store: the whole plan lands in one unit, or nothing does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { commitEpisode, StaleEpisodeError } from '../../../local/durable/episode-commit.js';
import { freshRuntime, newEpisodePlan } from '../../../local/durable/episode-plan.js';
import { EventType, makeEvent } from '../../../local/durable/history.js';
import { type InstanceRow, SqliteDurableStore } from '../../../local/durable/sqlite-store.js';
import { tempDir } from './harness.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const ts = new Date(NOW).toISOString();

function instance(id: string, status: InstanceRow['status'] = 'Running', parent?: string): InstanceRow {
  return {
    instanceId: id,
    name: 'Orch',
    executionId: `${id}-e1`,
    status,
    input: null,
    output: null,
    customStatus: null,
    createdAt: NOW,
    lastUpdatedAt: NOW,
    parentInstanceId: parent ?? null,
    parentExecutionId: parent ? `${parent}-e1` : null,
    parentTaskId: parent ? 0 : null,
    runtime: { ...freshRuntime(), started: true },
  };
}

describe('commitEpisode', () => {
  let store: SqliteDurableStore;
  before(async () => {
    store = new SqliteDurableStore(await tempDir('commit'));
  });
  after(() => store.close());

  it('writes history, the row, new work and messages, and deletes the consumed messages, together', async () => {
    const row = instance('a');
    store.putInstance(row);
    const consumed = store.transaction(() =>
      store.enqueueMessage('a', row.executionId, makeEvent(EventType.ExecutionStarted, ts)),
    );
    const plan = newEpisodePlan(row, row.runtime, NOW);
    plan.consumed = [consumed];
    plan.append = [makeEvent(EventType.OrchestratorStarted, ts), makeEvent(EventType.OrchestratorCompleted, ts)];
    plan.row.customStatus = '"step 1"';
    plan.activities.push({ instanceId: 'a', executionId: row.executionId, taskId: 0, name: 'A', input: '1' });
    plan.timers.push({ instanceId: 'a', executionId: row.executionId, timerId: 1, fireAt: NOW + 1000 });
    plan.messages.push({
      instanceId: 'other',
      executionId: null,
      event: makeEvent(EventType.EventRaised, ts, { Name: 'x' }),
    });
    const child = instance('a:2', 'Pending', 'a');
    plan.children.push({
      row: child,
      parentTaskId: 2,
      start: makeEvent(EventType.ExecutionStarted, ts, { Name: 'Orch' }),
    });

    const done = await commitEpisode(store, plan, row.executionId, 0);
    assert.deepEqual([...done.woken].sort(), ['a:2', 'other']);
    assert.equal(done.activities[0]?.name, 'A');
    assert.equal(done.timers[0]?.fireAt, NOW + 1000);
    assert.equal(store.getInstance('a')?.customStatus, '"step 1"');
    assert.equal(store.historyChunks('a').length, 1);
    assert.match(store.historyChunks('a')[0] ?? '', /"IsPlayed":true/);
    assert.deepEqual(store.messagesFor('a'), [], 'the consumed message is gone');
    assert.equal(store.getInstance('a:2')?.status, 'Pending');
    assert.equal(store.messagesFor('a:2')[0]?.event.EventType, EventType.ExecutionStarted);
    assert.equal(store.allActivities().length, 1);
    assert.equal(store.allTimers().length, 1);
  });

  it('refuses a stale episode (the instance restarted meanwhile) and writes nothing', async () => {
    const row = instance('b');
    store.putInstance({ ...row, executionId: 'b-restarted' });
    const plan = newEpisodePlan(row, row.runtime, NOW);
    plan.append = [makeEvent(EventType.OrchestratorStarted, ts)];
    plan.activities.push({ instanceId: 'b', executionId: row.executionId, taskId: 0, name: 'A', input: '1' });
    await assert.rejects(commitEpisode(store, plan, row.executionId, 0), StaleEpisodeError);
    assert.deepEqual(store.historyChunks('b'), []);
    assert.equal(store.allActivities().filter((a) => a.instanceId === 'b').length, 0);
    assert.equal(store.getInstance('b')?.executionId, 'b-restarted');
  });

  it('a child id already running fails the sub-orchestration task instead of replacing the child', async () => {
    const row = instance('c');
    store.putInstance(row);
    store.putInstance(instance('fixed-child', 'Running'));
    const plan = newEpisodePlan(row, row.runtime, NOW);
    plan.children.push({
      row: instance('fixed-child', 'Pending', 'c'),
      parentTaskId: 5,
      start: makeEvent(EventType.ExecutionStarted, ts),
    });
    const done = await commitEpisode(store, plan, row.executionId, 0);
    assert.deepEqual([...done.woken], ['c']);
    const failed = store.messagesFor('c')[0]?.event;
    assert.equal(failed?.EventType, EventType.SubOrchestrationInstanceFailed);
    assert.equal(failed?.TaskScheduledId, 5);
    assert.match(failed?.Reason ?? '', /already exists and is Running/);
    assert.equal(store.getInstance('fixed-child')?.executionId, 'fixed-child-e1', 'the running child is untouched');
  });
});
