// Activities and timers alone: the real fixture app's activities run through the host's invoker, and each
// outcome is committed as exactly one message to its orchestration.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fireTimers, runActivity, type TaskDeps } from '../../../local/durable/activities-and-timers.js';
import { freshRuntime } from '../../../local/durable/episode-plan.js';
import { EventType } from '../../../local/durable/history.js';
import { createDurableExtension } from '../../../local/durable/index.js';
import { InstanceCache } from '../../../local/durable/instance-cache.js';
import { type InstanceRow, SqliteDurableStore } from '../../../local/durable/sqlite-store.js';
import { loadFunctionApp } from '../../../local/functions-host/load-app.js';
import { durableApp, tempDir } from './harness.js';

function instance(id: string, status: InstanceRow['status'] = 'Running'): InstanceRow {
  return {
    instanceId: id,
    name: 'HelloSequence',
    executionId: `${id}-e1`,
    status,
    input: null,
    output: null,
    customStatus: null,
    createdAt: 0,
    lastUpdatedAt: 0,
    parentInstanceId: null,
    parentExecutionId: null,
    parentTaskId: null,
    runtime: { ...freshRuntime(), started: true },
  };
}

describe('activities and timers', () => {
  let store: SqliteDurableStore;
  let deps: TaskDeps;
  let closed = false;
  const woken: string[] = [];
  before(async () => {
    store = new SqliteDurableStore(await tempDir('tasks'));
    const app = await loadFunctionApp(durableApp, { extensions: [createDurableExtension()] });
    const activityNames = new Map(
      app.functions
        .filter((f) => f.trigger.binding.type === 'activityTrigger')
        .map((f) => [f.name.toLowerCase(), f.name]),
    );
    deps = {
      store,
      invoker: app.invoker,
      cache: new InstanceCache(store, 100),
      activityNames,
      closed: () => closed,
      wake: (id) => woken.push(id),
    };
    store.putInstance(instance('run'));
    store.putInstance(instance('done', 'Completed'));
  });
  after(() => store.close());

  const enqueue = (instanceId: string, name: string, input: string) =>
    store.transaction(() =>
      store.enqueueActivity({ instanceId, executionId: `${instanceId}-e1`, taskId: 7, name, input }),
    );

  it('a completed activity becomes TaskCompleted with its result; its row is gone', async () => {
    const a = enqueue('run', 'sayhello', '"Tokyo"');
    await runActivity(deps, a);
    const [m] = store.messagesFor('run');
    assert.equal(m?.event.EventType, EventType.TaskCompleted);
    assert.equal(m?.event.TaskScheduledId, 7);
    assert.equal(m?.event.Result, '"Hello Tokyo!"');
    assert.equal(store.activityExists(a.id), false);
    assert.deepEqual(woken, ['run']);
  });

  it('a throwing activity becomes TaskFailed with its message and stack; an unknown one fails clearly', async () => {
    await runActivity(deps, enqueue('run', 'Flaky', '{"key":"t","failures":5}'));
    await runActivity(deps, enqueue('run', 'NoSuchActivity', 'null'));
    const [, failed, unknown] = store.messagesFor('run').map((m) => m.event);
    assert.equal(failed?.EventType, EventType.TaskFailed);
    assert.equal(failed?.Reason, 'flaky failure 1 for t');
    assert.match(failed?.Details ?? '', /at .*index\.js/);
    assert.match(unknown?.Reason ?? '', /'NoSuchActivity' doesn't exist/);
  });

  it('an activity of a finished orchestration is dropped without running', async () => {
    const a = enqueue('done', 'SayHello', '"x"');
    await runActivity(deps, a);
    assert.equal(store.activityExists(a.id), false);
    assert.deepEqual(store.messagesFor('done'), []);
  });

  it('a due timer becomes TimerFired once, even when fired twice', async () => {
    woken.length = 0;
    const t = store.transaction(() =>
      store.enqueueTimer({ instanceId: 'run', executionId: 'run-e1', timerId: 3, fireAt: 1000 }),
    );
    assert.deepEqual(await fireTimers(deps, [t]), ['run']);
    assert.deepEqual(await fireTimers(deps, [t]), [], 'already fired');
    const fired = store.messagesFor('run').filter((m) => m.event.EventType === EventType.TimerFired);
    assert.equal(fired.length, 1);
    assert.equal(fired[0]?.event.TimerId, 3);
    assert.equal(fired[0]?.event.FireAt, new Date(1000).toISOString());
    assert.deepEqual(woken, ['run']);
  });

  it('once stopping, an activity result is not committed (the activity runs again after restart)', async () => {
    closed = true;
    const a = enqueue('run', 'SayHello', '"y"');
    await runActivity(deps, a);
    assert.equal(store.activityExists(a.id), true);
    closed = false;
  });
});
