// Activities and durable timers: the work an episode leaves behind, each completed in its own unit.
// An activity runs through the host's invoker and its unit deletes its row and enqueues TaskCompleted/
// TaskFailed; a due timer's unit deletes its row and enqueues TimerFired. If the process dies before the
// unit commits, the row is still there and the work runs again at restart (at-least-once).

import type { FunctionInvoker, RpcTypedData } from '../functions-host/contracts.js';
import { EventType, type HistoryEvent, makeEvent } from './history.js';
import type { InstanceCache } from './instance-cache.js';
import { type ActivityRow, isTerminal, type SqliteDurableStore, type TimerRow } from './sqlite-store.js';

export interface TaskDeps {
  store: SqliteDurableStore;
  invoker: FunctionInvoker;
  cache: InstanceCache;
  /** Registered activity names by their lower-cased name (activity names are case-insensitive). */
  activityNames: ReadonlyMap<string, string>;
  /** True once the backend is stopping: results are no longer committed. */
  closed(): boolean;
  /** The instance has a new message. */
  wake(instanceId: string): void;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The JSON text of an activity's return value (TaskCompleted.Result). */
export function rpcToJson(v: RpcTypedData | undefined): string {
  if (!v) return 'null';
  if (typeof v.json === 'string') return v.json === '' ? 'null' : v.json;
  if (typeof v.string === 'string') return JSON.stringify(v.string);
  if (typeof v.int === 'number') return String(v.int);
  if (typeof v.double === 'number') return String(v.double);
  if (v.bytes) return JSON.stringify(Buffer.from(v.bytes).toString('base64'));
  return 'null';
}

/** Runs one activity and commits its outcome as a message to its orchestration. */
export async function runActivity(deps: TaskDeps, a: ActivityRow): Promise<void> {
  if (deps.closed()) return;
  const { store } = deps;
  const owner = deps.cache.row(a.instanceId);
  if (!owner || owner.executionId !== a.executionId || isTerminal(owner.status)) {
    // Its orchestration finished, restarted or was purged: the result would be discarded anyway.
    await store.batch(() => store.deleteActivity(a.id));
    return;
  }
  const name = deps.activityNames.get(a.name.toLowerCase());
  let event: HistoryEvent;
  if (!name) {
    event = makeEvent(EventType.TaskFailed, '', {
      TaskScheduledId: a.taskId,
      Reason: `The function '${a.name}' doesn't exist, is disabled, or is not an activity function.`,
      Details: '',
    });
  } else {
    let r: Awaited<ReturnType<FunctionInvoker['invoke']>>;
    try {
      r = await deps.invoker.invoke(name, { json: a.input });
    } catch (err) {
      // The host itself failed to invoke: report it as the activity's failure rather than losing the task.
      r = { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    event = r.ok
      ? makeEvent(EventType.TaskCompleted, '', { TaskScheduledId: a.taskId, Result: rpcToJson(r.returnValue) })
      : makeEvent(EventType.TaskFailed, '', {
          TaskScheduledId: a.taskId,
          Reason: r.error.message,
          Details: r.error.stack ?? '',
        });
  }
  if (deps.closed()) return; // the row stays: the activity runs again after restart (at-least-once)
  event.Timestamp = iso(Date.now());
  const delivered = await store.batch(() => {
    if (!store.deleteActivity(a.id)) return false;
    store.enqueueMessage(a.instanceId, a.executionId, event);
    return true;
  });
  if (delivered) deps.wake(a.instanceId);
}

/** Commits TimerFired for every due timer still stored; resolves with the instances it woke. */
export async function fireTimers(
  deps: Pick<TaskDeps, 'store' | 'closed' | 'wake'>,
  due: TimerRow[],
): Promise<string[]> {
  if (deps.closed()) return [];
  const { store } = deps;
  const now = iso(Date.now());
  const woken = await store.batch(() => {
    const ids: string[] = [];
    for (const t of due) {
      if (!store.deleteTimer(t.id)) continue;
      store.enqueueMessage(
        t.instanceId,
        t.executionId,
        makeEvent(EventType.TimerFired, now, { TimerId: t.timerId, FireAt: iso(t.fireAt) }),
      );
      ids.push(t.instanceId);
    }
    return ids;
  });
  for (const id of woken) deps.wake(id);
  return woken;
}
