// Step 2 of an episode: the instance's queued messages become new history events. Pure: it only reads
// the messages and the instance's bookkeeping. Stale messages (another execution's, or anything after the
// instance finished) and duplicate completions are consumed and dropped; while suspended only resume and
// terminate are taken; the ExecutionStarted of a new execution goes first.

import { EventType, type HistoryEvent } from './history.js';
import {
  type InstanceRuntime,
  isTerminal,
  type MessageRow,
  type PendingTask,
  type RuntimeStatus,
} from './sqlite-store.js';

/** A completion that makes the replay engine take a sequence number (a retried task's attempt or timer). */
export interface RetryEvent {
  event: HistoryEvent;
  task: PendingTask;
}

export interface Intake {
  /** Events for the history, in order. */
  newEvents: HistoryEvent[];
  /** Message ids the episode consumes (deleted in its commit). */
  consumed: number[];
  /** The instance's status after these messages (before the orchestrator runs). */
  status: RuntimeStatus;
  terminateReason?: string;
  retryEvent?: RetryEvent;
  /** Something for the orchestrator to run on (its start, a completion, an external event). */
  work: boolean;
  /** Messages were left for a later episode and the instance can take them now. */
  wakeSelf: boolean;
}

const COMPLETION_TYPES: ReadonlySet<number> = new Set([
  EventType.TaskCompleted,
  EventType.TaskFailed,
  EventType.SubOrchestrationInstanceCompleted,
  EventType.SubOrchestrationInstanceFailed,
  EventType.TimerFired,
]);

function startFirst(msgs: readonly MessageRow[], executionId: string): readonly MessageRow[] {
  const i = msgs.findIndex((m) => m.event.EventType === EventType.ExecutionStarted && m.executionId === executionId);
  if (i <= 0) return msgs;
  return [msgs[i]!, ...msgs.slice(0, i), ...msgs.slice(i + 1)];
}

/**
 * Takes the messages of one episode. `runtime` is the episode's working copy of the instance's bookkeeping:
 * it is updated in place (started, completed tasks removed from `pending`).
 */
export function takeMessages(
  row: { executionId: string; status: RuntimeStatus },
  runtime: InstanceRuntime,
  msgs: readonly MessageRow[],
): Intake {
  let started = runtime.started;
  let status = row.status;
  const newEvents: HistoryEvent[] = [];
  const consumed: number[] = [];
  let terminateReason: string | undefined;
  let retryEvent: RetryEvent | undefined;
  let work = false;
  let skipped = false;

  const ordered = started ? msgs : startFirst(msgs, row.executionId);
  for (const m of ordered) {
    const e = m.event;
    if (isTerminal(status) || (m.executionId !== null && m.executionId !== row.executionId)) {
      consumed.push(m.id);
      continue;
    }
    if (e.EventType === EventType.ExecutionTerminated) {
      consumed.push(m.id);
      terminateReason = typeof e.Input === 'string' ? e.Input : '';
      status = 'Terminated';
      newEvents.push(e);
      continue;
    }
    if (e.EventType === EventType.ExecutionSuspended) {
      consumed.push(m.id);
      if (status !== 'Suspended') {
        status = 'Suspended';
        newEvents.push(e);
      }
      continue;
    }
    if (e.EventType === EventType.ExecutionResumed) {
      consumed.push(m.id);
      if (status === 'Suspended') {
        status = started ? 'Running' : 'Pending';
        newEvents.push(e);
      }
      continue;
    }
    // While suspended (or after a retry-relevant event, see below) the rest waits for the next episode.
    if (status === 'Suspended' || retryEvent) {
      skipped = true;
      continue;
    }
    if (!started && e.EventType !== EventType.ExecutionStarted) continue;
    if (e.EventType === EventType.ExecutionStarted) {
      consumed.push(m.id);
      if (started) continue;
      started = true;
      runtime.started = true;
      status = 'Running';
    } else if (COMPLETION_TYPES.has(e.EventType)) {
      consumed.push(m.id);
      const key = e.EventType === EventType.TimerFired ? e.TimerId : e.TaskScheduledId;
      const task = key === undefined ? undefined : runtime.pending[key];
      if (!task) continue; // duplicate delivery, or a task of a cancelled/finished branch
      delete runtime.pending[String(key)];
      // A failed attempt of a task with retry options, or the timer before its next attempt, makes the
      // replay engine take a sequence number at that point of the history. Such an event is always the
      // last new event of its episode so the backend numbers it after the actions user code scheduled.
      const failed = e.EventType === EventType.TaskFailed || e.EventType === EventType.SubOrchestrationInstanceFailed;
      if (task.kind === 'retryTimer' || (failed && 'retry' in task && task.retry)) retryEvent = { event: e, task };
    } else if (e.EventType === EventType.EventRaised) {
      consumed.push(m.id);
    } else {
      consumed.push(m.id);
      continue;
    }
    newEvents.push(e);
    work = true;
  }
  return {
    newEvents,
    consumed,
    status,
    ...(terminateReason !== undefined ? { terminateReason } : {}),
    ...(retryEvent ? { retryEvent } : {}),
    work,
    // Messages left for later: run again at once unless the instance is (still) suspended.
    wakeSelf: skipped && status !== 'Suspended',
  };
}
