// Steps 3-4 of an episode, as data: what the episode will commit. From the engine's answer (cumulative
// actions, done/failed, output) it numbers the new tasks the way the replay engine does, and lists the
// history to append, the activities/timers/messages/child instances to create and the instance's new row.
// Pure apart from the ids it is given (`PlanContext`); nothing here touches the store.

import type { InvocationResult, RpcTypedData } from '../functions-host/contracts.js';
import type { RetryEvent } from './episode-intake.js';
import {
  cloneLedger,
  emptyLedger,
  recordRaisedEvents,
  recordWaits,
  unconsumedEvents,
} from './external-event-ledger.js';
import {
  ActionType,
  EventType,
  flattenAction,
  type HistoryEvent,
  makeEvent,
  type OrchestratorState,
  processedInputToJson,
  stateFromOrchestratorError,
  type WireAction,
} from './history.js';
import { computeRetryDelay } from './retry-delay.js';
import type { ActivityRow, InstanceRow, InstanceRuntime, RetryState, TimerRow } from './sqlite-store.js';

export interface EpisodePlan {
  row: InstanceRow;
  resetHistory: boolean;
  append: HistoryEvent[];
  consumed: number[];
  activities: Omit<ActivityRow, 'id'>[];
  timers: Omit<TimerRow, 'id'>[];
  messages: { instanceId: string; executionId: string | null; event: HistoryEvent }[];
  children: { row: InstanceRow; parentTaskId: number; start: HistoryEvent }[];
  deleteTimers: boolean;
  deleteActivities: boolean;
  wakeSelf: boolean;
  /** Set when the orchestration failed in this episode: its error, for the log. */
  failure?: { message: string; details?: string };
}

export interface PlanContext {
  /** The registered name of an orchestrator (names are case-insensitive); unknown names stay as given. */
  resolveOrchestrator(name: string): string;
  newExecutionId(): string;
}

/** What the replay engine answered for one episode. */
export interface EngineOutcome {
  state: OrchestratorState | undefined;
  /** Set when the orchestration failed (the engine's error, or why its answer was unusable). */
  failure?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function freshRuntime(): InstanceRuntime {
  return { started: false, nextSeq: 0, actionsProcessed: 0, pending: {}, events: emptyLedger() };
}

export function cloneRuntime(r: InstanceRuntime): InstanceRuntime {
  return {
    started: r.started,
    nextSeq: r.nextSeq,
    actionsProcessed: r.actionsProcessed,
    pending: { ...r.pending },
    ...(r.events ? { events: cloneLedger(r.events) } : {}),
  };
}

/** An empty plan over a working copy of the instance's row. */
export function newEpisodePlan(row: InstanceRow, runtime: InstanceRuntime, now: number): EpisodePlan {
  return {
    row: { ...row, runtime, lastUpdatedAt: now },
    resetHistory: false,
    append: [],
    consumed: [],
    activities: [],
    timers: [],
    messages: [],
    children: [],
    deleteTimers: false,
    deleteActivities: false,
    wakeSelf: false,
  };
}

function parseState(v: RpcTypedData | undefined): OrchestratorState | undefined {
  if (!v || typeof v.json !== 'string') return undefined;
  try {
    const s = JSON.parse(v.json) as OrchestratorState;
    return s && typeof s === 'object' && Array.isArray(s.actions) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the engine's answer from the invocation: its returned state, or the state carried by its error. */
export function readEngineOutcome(res: InvocationResult): EngineOutcome {
  if (res.ok) {
    const state = parseState(res.returnValue);
    return state ? { state } : { state, failure: 'The orchestrator function returned no orchestration state.' };
  }
  const state = stateFromOrchestratorError(res.error);
  return { state, failure: state?.error ?? res.error.message };
}

/** A terminate request: the instance ends Terminated, its pending work is dropped, its parent told. */
export function planTermination(plan: EpisodePlan, newEvents: HistoryEvent[], reason: string, ts: string): void {
  const row = plan.row;
  row.status = 'Terminated';
  row.output = JSON.stringify(reason);
  plan.append.push(...newEvents);
  plan.deleteTimers = true;
  plan.deleteActivities = true;
  notifyParent(plan, false, `Orchestration '${row.instanceId}' was terminated: ${reason}`, ts);
}

function notifyParent(plan: EpisodePlan, ok: boolean, resultOrReason: string, ts: string): void {
  const row = plan.row;
  if (!row.parentInstanceId || row.parentTaskId === null) return;
  plan.messages.push({
    instanceId: row.parentInstanceId,
    executionId: row.parentExecutionId,
    event: ok
      ? makeEvent(EventType.SubOrchestrationInstanceCompleted, ts, {
          TaskScheduledId: row.parentTaskId,
          Result: resultOrReason,
        })
      : makeEvent(EventType.SubOrchestrationInstanceFailed, ts, {
          TaskScheduledId: row.parentTaskId,
          Reason: resultOrReason,
          Details: '',
        }),
  });
}

export interface EngineEpisode {
  /** The history before this episode, as stored (for continueAsNew's carried-over events). */
  historyChunks: readonly string[];
  /** OrchestratorStarted + the new events, as sent to the engine. */
  episodeEvents: HistoryEvent[];
  newEvents: HistoryEvent[];
  retryEvent: RetryEvent | undefined;
  outcome: EngineOutcome;
  /** Error details for the log when the orchestration failed (e.g. a stack). */
  failureDetails?: string;
  now: number;
}

/** Plans what the engine's answer means: new tasks, completion, failure or continueAsNew. */
export function planFromEngine(plan: EpisodePlan, ctx: PlanContext, ep: EngineEpisode): void {
  const row = plan.row;
  const runtime = row.runtime;
  const { now } = ep;
  const ts = iso(now);
  const { state } = ep.outcome;
  let failure = ep.outcome.failure;

  const all = (state?.actions ?? []).flat();
  const fresh = all.slice(runtime.actionsProcessed);
  runtime.actionsProcessed = all.length;
  if (runtime.events) {
    recordRaisedEvents(runtime.events, ep.newEvents);
    recordWaits(runtime.events, fresh);
  }
  const scheduled: HistoryEvent[] = [];
  let continueAsNew: WireAction | undefined;
  if (failure === undefined) {
    for (const top of fresh) {
      for (const a of flattenAction(top)) {
        switch (a.actionType) {
          case ActionType.CallActivity:
          case ActionType.CallActivityWithRetry: {
            const id = runtime.nextSeq++;
            const input = processedInputToJson(a.input);
            const retry: RetryState | undefined =
              a.actionType === ActionType.CallActivityWithRetry && a.retryOptions
                ? { options: a.retryOptions, attempt: 1, firstAttemptAt: now }
                : undefined;
            scheduleActivity(plan, scheduled, id, a.functionName ?? '', input, retry, ts);
            break;
          }
          case ActionType.CallSubOrchestrator:
          case ActionType.CallSubOrchestratorWithRetry: {
            const id = runtime.nextSeq++;
            const retry: RetryState | undefined =
              a.actionType === ActionType.CallSubOrchestratorWithRetry && a.retryOptions
                ? { options: a.retryOptions, attempt: 1, firstAttemptAt: now }
                : undefined;
            const fixedId = typeof a.instanceId === 'string' && a.instanceId !== '';
            const childId = fixedId ? (a.instanceId as string) : `${row.instanceId}:${id}`;
            const input = JSON.stringify(a.input ?? null);
            scheduleSubOrchestration(plan, ctx, scheduled, {
              id,
              name: a.functionName ?? '',
              input,
              childId,
              fixedId,
              retry,
              ts,
            });
            break;
          }
          case ActionType.CreateTimer: {
            const id = runtime.nextSeq++;
            const fireAt = Date.parse(a.fireAt ?? ts);
            scheduled.push(makeEvent(EventType.TimerCreated, ts, { EventId: id, FireAt: a.fireAt ?? ts }));
            runtime.pending[id] = { kind: 'timer' };
            if (!a.isCanceled) {
              plan.timers.push({ instanceId: row.instanceId, executionId: row.executionId, timerId: id, fireAt });
            }
            break;
          }
          case ActionType.WaitForExternalEvent:
            break;
          case ActionType.ContinueAsNew:
            continueAsNew = a;
            break;
          default:
            failure = `Durable action type ${a.actionType} (entities / callHttp) is not supported by the local backend.`;
        }
      }
    }
  }

  if (failure === undefined && state && !state.isDone && ep.retryEvent) {
    applyRetry(plan, ctx, scheduled, ep.retryEvent, now);
  }

  plan.append.push(...ep.episodeEvents, ...scheduled, makeEvent(EventType.OrchestratorCompleted, ts));
  if (state && state.customStatus !== undefined) row.customStatus = JSON.stringify(state.customStatus);

  if (failure !== undefined) {
    row.status = 'Failed';
    const message = `Orchestrator function '${row.name}' failed: ${failure}`;
    row.output = JSON.stringify(message);
    plan.append.push(makeEvent(EventType.ExecutionCompleted, ts, { OrchestrationStatus: 'Failed', Result: message }));
    plan.deleteTimers = true;
    notifyParent(plan, false, message, ts);
    plan.failure = ep.failureDetails ? { message: failure, details: ep.failureDetails } : { message: failure };
  } else if (state?.isDone && continueAsNew) {
    planContinueAsNew(plan, ctx, ep, all, continueAsNew, ts);
  } else if (state?.isDone) {
    row.status = 'Completed';
    row.output = JSON.stringify(state.output ?? null);
    plan.append.push(
      makeEvent(EventType.ExecutionCompleted, ts, { OrchestrationStatus: 'Completed', Result: row.output }),
    );
    plan.deleteTimers = true;
    notifyParent(plan, true, row.output, ts);
  }
}

function scheduleActivity(
  plan: EpisodePlan,
  scheduled: HistoryEvent[],
  id: number,
  name: string,
  input: string,
  retry: RetryState | undefined,
  ts: string,
): void {
  const row = plan.row;
  scheduled.push(makeEvent(EventType.TaskScheduled, ts, { EventId: id, Name: name, Input: input }));
  row.runtime.pending[id] = retry ? { kind: 'activity', name, input, retry } : { kind: 'activity', name, input };
  plan.activities.push({ instanceId: row.instanceId, executionId: row.executionId, taskId: id, name, input });
}

function scheduleSubOrchestration(
  plan: EpisodePlan,
  ctx: PlanContext,
  scheduled: HistoryEvent[],
  t: {
    id: number;
    name: string;
    input: string;
    childId: string;
    fixedId: boolean;
    retry: RetryState | undefined;
    ts: string;
  },
): void {
  const row = plan.row;
  const { id, name, input, childId, fixedId, retry, ts } = t;
  const now = Date.parse(ts);
  scheduled.push(
    makeEvent(EventType.SubOrchestrationInstanceCreated, ts, {
      EventId: id,
      Name: name,
      InstanceId: childId,
      Input: input,
    }),
  );
  row.runtime.pending[id] = retry
    ? { kind: 'subOrchestration', name, input, instanceId: childId, fixedId, retry }
    : { kind: 'subOrchestration', name, input, instanceId: childId, fixedId };
  const resolved = ctx.resolveOrchestrator(name);
  plan.children.push({
    parentTaskId: id,
    start: makeEvent(EventType.ExecutionStarted, ts, { Name: resolved, Input: input, Version: '' }),
    row: {
      instanceId: childId,
      name: resolved,
      executionId: ctx.newExecutionId(),
      status: 'Pending',
      input,
      output: null,
      customStatus: null,
      createdAt: now,
      lastUpdatedAt: now,
      parentInstanceId: row.instanceId,
      parentExecutionId: row.executionId,
      parentTaskId: id,
      runtime: freshRuntime(),
    },
  });
}

function applyRetry(
  plan: EpisodePlan,
  ctx: PlanContext,
  scheduled: HistoryEvent[],
  retryEvent: RetryEvent,
  now: number,
): void {
  const row = plan.row;
  const runtime = row.runtime;
  const ts = iso(now);
  const { event, task } = retryEvent;
  if (task.kind === 'activity' || task.kind === 'subOrchestration') {
    // A failed attempt: wait (durable timer), then the next attempt. Like DurableTask.Core, the timer is
    // created after the last attempt too; the replay engine fails the task when that timer fires.
    const retry: RetryState = { ...task.retry!, lastReason: event.Reason ?? '', lastDetails: event.Details ?? '' };
    const { delayMs, timedOut } = computeRetryDelay(retry, now);
    if (timedOut) retry.timedOut = true;
    const id = runtime.nextSeq++;
    const fireAt = now + delayMs;
    scheduled.push(makeEvent(EventType.TimerCreated, ts, { EventId: id, FireAt: iso(fireAt) }));
    runtime.pending[id] =
      task.kind === 'activity'
        ? { kind: 'retryTimer', target: 'activity', name: task.name, input: task.input, retry }
        : {
            kind: 'retryTimer',
            target: 'subOrchestration',
            name: task.name,
            input: task.input,
            instanceId: task.instanceId,
            fixedId: task.fixedId,
            retry,
          };
    plan.timers.push({ instanceId: row.instanceId, executionId: row.executionId, timerId: id, fireAt });
    return;
  }
  if (task.kind !== 'retryTimer') return;
  const r = task.retry;
  if (r.attempt >= r.options.maxNumberOfAttempts) return; // the engine now fails the task itself
  const id = runtime.nextSeq++;
  const next: RetryState = { ...r, attempt: r.attempt + 1 };
  const childId = task.fixedId && task.instanceId ? task.instanceId : `${row.instanceId}:${id}`;
  if (r.timedOut) {
    // retryTimeout elapsed: the remaining attempts fail at once, without running.
    if (task.target === 'activity') {
      scheduled.push(makeEvent(EventType.TaskScheduled, ts, { EventId: id, Name: task.name, Input: task.input }));
      runtime.pending[id] = { kind: 'activity', name: task.name, input: task.input, retry: next };
    } else {
      scheduled.push(
        makeEvent(EventType.SubOrchestrationInstanceCreated, ts, {
          EventId: id,
          Name: task.name,
          InstanceId: childId,
          Input: task.input,
        }),
      );
      runtime.pending[id] = {
        kind: 'subOrchestration',
        name: task.name,
        input: task.input,
        instanceId: childId,
        fixedId: task.fixedId ?? false,
        retry: next,
      };
    }
    plan.messages.push({
      instanceId: row.instanceId,
      executionId: row.executionId,
      event: makeEvent(
        task.target === 'activity' ? EventType.TaskFailed : EventType.SubOrchestrationInstanceFailed,
        ts,
        { TaskScheduledId: id, Reason: r.lastReason ?? 'Retry timeout exceeded', Details: 'Retry timeout exceeded' },
      ),
    });
    return;
  }
  if (task.target === 'activity') {
    scheduleActivity(plan, scheduled, id, task.name, task.input, next, ts);
  } else {
    scheduleSubOrchestration(plan, ctx, scheduled, {
      id,
      name: task.name,
      input: task.input,
      childId,
      fixedId: task.fixedId ?? false,
      retry: next,
      ts,
    });
  }
}

function planContinueAsNew(
  plan: EpisodePlan,
  ctx: PlanContext,
  ep: EngineEpisode,
  allActions: WireAction[],
  action: WireAction,
  ts: string,
): void {
  const row = plan.row;
  // External events that reached this execution but were never waited for are carried over into the new
  // execution (DurableOrchestrationContext.ContinueAsNew with preserveUnprocessedEvents), so a sender
  // that raced the restart does not lose its event. Events still queued simply stay queued.
  const raised = [...(JSON.parse(`[${ep.historyChunks.join(',')}]`) as HistoryEvent[]), ...ep.newEvents].filter(
    (e) => e.EventType === EventType.EventRaised,
  );
  const carried = row.runtime.events ? unconsumedEvents(row.runtime.events, raised) : unwaited(raised, allActions);
  const input = processedInputToJson(action.input);
  row.status = 'ContinuedAsNew';
  row.executionId = ctx.newExecutionId();
  row.input = input;
  row.output = null;
  row.runtime = freshRuntime();
  plan.resetHistory = true;
  plan.append = [];
  plan.deleteTimers = true;
  plan.messages.push({
    instanceId: row.instanceId,
    executionId: row.executionId,
    event: makeEvent(EventType.ExecutionStarted, ts, { Name: row.name, Input: input, Version: '' }),
  });
  for (const e of carried) {
    plan.messages.push({
      instanceId: row.instanceId,
      executionId: null,
      event: makeEvent(EventType.EventRaised, e.Timestamp, { Name: e.Name ?? '', Input: e.Input ?? null }),
    });
  }
}

/** Rows written before the event ledger existed: events beyond the number of waits ever put out are carried. */
function unwaited(raised: HistoryEvent[], allActions: WireAction[]): HistoryEvent[] {
  const waits = new Map<string, number>();
  for (const top of allActions) {
    for (const a of flattenAction(top)) {
      if (a.actionType === ActionType.WaitForExternalEvent && a.externalEventName) {
        waits.set(a.externalEventName, (waits.get(a.externalEventName) ?? 0) + 1);
      }
    }
  }
  const carried: HistoryEvent[] = [];
  for (const e of raised) {
    const name = e.Name ?? '';
    const w = waits.get(name) ?? 0;
    if (w > 0) waits.set(name, w - 1);
    else carried.push(e);
  }
  return carried;
}
