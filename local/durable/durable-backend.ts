// DurableBackend: runs orchestration episodes, activities and timers over the SQLite store.
//
// Pipeline of one orchestration episode (runEpisode):
//   1. read the instance row and its queued messages (the DB is the source of truth)
//   2. turn messages into new history events (dropping stale/duplicate ones, honouring suspend/terminate)
//   3. invoke the orchestrator function through the host with the trigger payload (real replay engine)
//   4. diff the engine's cumulative actions against what was already scheduled, number new tasks
//   5. commit ONE transaction: history append + instance row + new activities/timers/messages + consumed
//      messages deleted; then wake whoever got work (in-process, no polling).

import { randomUUID } from 'node:crypto';
import type { FunctionInvoker, HostLogger, RegisteredFunction, RpcTypedData } from '../functions-host/contracts.js';
import { describeError } from '../functions-host/describe-error.js';
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
import {
  type ActivityRow,
  type InstanceQuery,
  type InstanceRow,
  type InstanceRuntime,
  isTerminal,
  type MessageRow,
  type PendingTask,
  type RetryState,
  type RuntimeStatus,
  type SqliteDurableStore,
  type TimerRow,
  UnitRejected,
} from './sqlite-store.js';
import { TimerWheel } from './timer-wheel.js';

export interface DurableBackendOptions {
  store: SqliteDurableStore;
  invoker: FunctionInvoker;
  functions: readonly RegisteredFunction[];
  log: HostLogger;
  maxConcurrentActivityFunctions: number;
  maxConcurrentOrchestratorFunctions: number;
  /** Instances whose history text is kept in memory between episodes. */
  historyCacheSize?: number;
}

export type StartResult =
  | { kind: 'started'; instanceId: string }
  | { kind: 'conflict'; status: RuntimeStatus }
  | { kind: 'unknownOrchestrator' };

export type ControlResult = 'accepted' | 'notFound' | 'gone';

export type StatusListener = (row: InstanceRow) => void;

interface CachedHistory {
  executionId: string;
  /**
   * The stored history rows (one per episode: its events' JSON joined by ',', IsPlayed already true). Kept
   * as separate immutable strings, not one growing string, so old chunks settle in the old generation and
   * are not copied by every scavenge.
   */
  chunks: string[];
}

interface EpisodePlan {
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
}

class StaleEpisodeError extends UnitRejected {}

const COMPLETION_TYPES: ReadonlySet<number> = new Set([
  EventType.TaskCompleted,
  EventType.TaskFailed,
  EventType.SubOrchestrationInstanceCompleted,
  EventType.SubOrchestrationInstanceFailed,
  EventType.TimerFired,
]);

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function freshRuntime(): InstanceRuntime {
  return { started: false, nextSeq: 0, actionsProcessed: 0, pending: {} };
}

function cloneRuntime(r: InstanceRuntime): InstanceRuntime {
  return { started: r.started, nextSeq: r.nextSeq, actionsProcessed: r.actionsProcessed, pending: { ...r.pending } };
}

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

function describeDetails(err: Error): { details?: string } {
  const d = describeError(err).details;
  return d ? { details: d } : {};
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

export class DurableBackend {
  private readonly store: SqliteDurableStore;
  private readonly invoker: FunctionInvoker;
  private readonly log: HostLogger;
  private readonly orchestratorNames = new Map<string, string>();
  private readonly activityNames = new Map<string, string>();
  private readonly historyCache = new Map<string, CachedHistory>();
  /** Committed instance rows (a copy of the DB's; this process is the only writer). LRU-bounded. */
  private readonly rows = new Map<string, InstanceRow>();
  private readonly historyCacheSize: number;
  private readonly ready = new Set<string>();
  private readonly running = new Set<string>();
  private readonly rerun = new Set<string>();
  private activityQueue: ActivityRow[] = [];
  private activityHead = 0;
  private activeActivities = 0;
  private readonly maxActivities: number;
  private readonly maxOrchestrations: number;
  private readonly inflight = new Set<Promise<void>>();
  private readonly timers: TimerWheel;
  private readonly listeners = new Set<StatusListener>();
  private pumpQueued = false;
  private stopping = false;
  private closed = false;

  constructor(opts: DurableBackendOptions) {
    this.store = opts.store;
    this.invoker = opts.invoker;
    this.log = opts.log;
    this.maxActivities = Math.max(1, opts.maxConcurrentActivityFunctions);
    this.maxOrchestrations = Math.max(1, opts.maxConcurrentOrchestratorFunctions);
    this.historyCacheSize = opts.historyCacheSize ?? 10_000;
    for (const f of opts.functions) {
      if (f.trigger.binding.type === 'orchestrationTrigger') this.orchestratorNames.set(f.name.toLowerCase(), f.name);
      if (f.trigger.binding.type === 'activityTrigger') this.activityNames.set(f.name.toLowerCase(), f.name);
    }
    this.timers = new TimerWheel((due) => this.fireTimers(due));
  }

  /** Loads outstanding work after a (re)start: queued messages, activities, timers. */
  recover(): void {
    for (const a of this.store.allActivities()) this.activityQueue.push(a);
    for (const t of this.store.allTimers()) this.timers.add(t);
    for (const id of this.store.instancesWithMessages()) this.ready.add(id);
    this.schedulePump();
  }

  /** Called after every committed change of an instance's row (tests and benchmarks wait on it). */
  onStatusChange(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(timeoutMs = 5000): Promise<void> {
    this.stopping = true;
    this.timers.stop();
    const all = Promise.allSettled([...this.inflight]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    if (timer) clearTimeout(timer);
    this.closed = true;
  }

  // ---------------------------------------------------------------- client operations (HTTP API)

  async startNew(name: string, instanceId: string | undefined, inputJson: string | null): Promise<StartResult> {
    const resolved = this.orchestratorNames.get(name.toLowerCase());
    if (!resolved) return { kind: 'unknownOrchestrator' };
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    type Unit = Exclude<StartResult, { kind: 'started' }> | { kind: 'started'; instanceId: string; row: InstanceRow };
    const result = await this.store.batch((): Unit => {
      const existing = this.store.getInstance(id);
      if (existing && !isTerminal(existing.status)) return { kind: 'conflict', status: existing.status };
      if (existing) this.store.deleteInstance(id, true);
      const now = Date.now();
      const row: InstanceRow = {
        instanceId: id,
        name: resolved,
        executionId: randomUUID(),
        status: 'Pending',
        input: inputJson,
        output: null,
        customStatus: null,
        createdAt: now,
        lastUpdatedAt: now,
        parentInstanceId: null,
        parentExecutionId: null,
        parentTaskId: null,
        runtime: freshRuntime(),
      };
      this.store.putInstance(row);
      this.store.enqueueMessage(
        id,
        row.executionId,
        makeEvent(EventType.ExecutionStarted, iso(now), { Name: resolved, Input: inputJson, Version: '' }),
      );
      return { kind: 'started', instanceId: id, row };
    });
    if (result.kind !== 'started') return result;
    this.dropRow(id);
    this.setRow(result.row);
    this.historyCache.set(id, { executionId: result.row.executionId, chunks: [] });
    this.wake(id);
    return { kind: 'started', instanceId: id };
  }

  getInstance(instanceId: string): InstanceRow | undefined {
    return this.rowOf(instanceId);
  }

  private rowOf(instanceId: string): InstanceRow | undefined {
    const hit = this.rows.get(instanceId);
    if (hit) return hit;
    const row = this.store.getInstance(instanceId);
    if (row) this.setRow(row);
    return row;
  }

  private setRow(row: InstanceRow): void {
    this.rows.delete(row.instanceId);
    this.rows.set(row.instanceId, row);
    if (this.rows.size > this.historyCacheSize) {
      const oldest = this.rows.keys().next().value;
      if (oldest !== undefined) this.rows.delete(oldest);
    }
  }

  private dropRow(instanceId: string): void {
    this.rows.delete(instanceId);
    this.historyCache.delete(instanceId);
  }

  historyEvents(instanceId: string): HistoryEvent[] {
    return JSON.parse(`[${this.store.historyChunks(instanceId).join(',')}]`) as HistoryEvent[];
  }

  queryInstances(q: InstanceQuery): InstanceRow[] {
    return this.store.queryInstances(q);
  }

  raiseEvent(instanceId: string, eventName: string, inputJson: string | null): Promise<ControlResult> {
    return this.sendControl(
      instanceId,
      makeEvent(EventType.EventRaised, iso(Date.now()), { Name: eventName, Input: inputJson }),
    );
  }

  terminate(instanceId: string, reason: string): Promise<ControlResult> {
    return this.sendControl(instanceId, makeEvent(EventType.ExecutionTerminated, iso(Date.now()), { Input: reason }));
  }

  suspend(instanceId: string, reason: string): Promise<ControlResult> {
    return this.sendControl(instanceId, makeEvent(EventType.ExecutionSuspended, iso(Date.now()), { Reason: reason }));
  }

  resume(instanceId: string, reason: string): Promise<ControlResult> {
    return this.sendControl(instanceId, makeEvent(EventType.ExecutionResumed, iso(Date.now()), { Reason: reason }));
  }

  /** Deletes a finished instance and its history. Running instances are not purged ('conflict'). */
  async purge(instanceId: string): Promise<'purged' | 'notFound' | 'conflict'> {
    const r = await this.store.batch(() => {
      const row = this.store.getInstance(instanceId);
      if (!row) return 'notFound' as const;
      if (!isTerminal(row.status)) return 'conflict' as const;
      this.store.deleteInstance(instanceId);
      return 'purged' as const;
    });
    if (r === 'purged') this.dropRow(instanceId);
    return r;
  }

  async purgeWhere(q: InstanceQuery): Promise<number> {
    const statuses = (q.statuses ?? ['Completed', 'Failed', 'Terminated']).filter((s) => isTerminal(s));
    if (statuses.length === 0) return 0;
    const rows = await this.store.batch(() => {
      const found = this.store.queryInstances({ ...q, statuses });
      for (const r of found) this.store.deleteInstance(r.instanceId);
      return found;
    });
    for (const r of rows) this.dropRow(r.instanceId);
    return rows.length;
  }

  private async sendControl(instanceId: string, event: HistoryEvent): Promise<ControlResult> {
    const r = await this.store.batch((): ControlResult => {
      const row = this.store.getInstance(instanceId);
      if (!row) return 'notFound';
      if (isTerminal(row.status)) return 'gone';
      this.store.enqueueMessage(instanceId, null, event);
      return 'accepted';
    });
    if (r === 'accepted') this.wake(instanceId);
    return r;
  }

  // ---------------------------------------------------------------- scheduling

  private wake(instanceId: string): void {
    if (this.running.has(instanceId)) this.rerun.add(instanceId);
    else this.ready.add(instanceId);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpQueued || this.stopping) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private pump(): void {
    if (this.stopping) return;
    for (const id of this.ready) {
      if (this.running.size >= this.maxOrchestrations) break;
      this.ready.delete(id);
      if (this.running.has(id)) {
        this.rerun.add(id);
        continue;
      }
      this.running.add(id);
      this.track(
        this.runEpisode(id)
          .catch((err: unknown) => this.episodeError(id, err))
          .finally(() => {
            this.running.delete(id);
            if (this.rerun.delete(id)) this.ready.add(id);
            this.schedulePump();
          }),
      );
    }
    while (this.activeActivities < this.maxActivities && this.activityHead < this.activityQueue.length) {
      const a = this.activityQueue[this.activityHead++]!;
      if (this.activityHead > 1024 && this.activityHead * 2 > this.activityQueue.length) {
        this.activityQueue = this.activityQueue.slice(this.activityHead);
        this.activityHead = 0;
      }
      this.activeActivities++;
      this.track(
        this.runActivity(a)
          .catch((err: unknown) => {
            if (!this.closed) this.log.error('durable: activity dispatch failed', { err: String(err), id: a.id });
          })
          .finally(() => {
            this.activeActivities--;
            this.schedulePump();
          }),
      );
    }
  }

  private episodeError(instanceId: string, err: unknown): void {
    if (err instanceof StaleEpisodeError) {
      this.rerun.add(instanceId);
      return;
    }
    if (this.closed) return;
    this.log.error('durable: orchestration episode failed; retrying in 1 s', { instanceId, err: String(err) });
    setTimeout(() => this.wake(instanceId), 1000).unref();
  }

  // ---------------------------------------------------------------- activities and timers

  private async runActivity(a: ActivityRow): Promise<void> {
    if (this.closed) return;
    const owner = this.rowOf(a.instanceId);
    if (!owner || owner.executionId !== a.executionId || isTerminal(owner.status)) {
      // Its orchestration finished, restarted or was purged: the result would be discarded anyway.
      await this.store.batch(() => this.store.deleteActivity(a.id));
      return;
    }
    const name = this.activityNames.get(a.name.toLowerCase());
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
        r = await this.invoker.invoke(name, { json: a.input });
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
    if (this.closed) return; // the row stays: the activity runs again after restart (at-least-once)
    event.Timestamp = iso(Date.now());
    const delivered = await this.store.batch(() => {
      if (!this.store.deleteActivity(a.id)) return false;
      this.store.enqueueMessage(a.instanceId, a.executionId, event);
      return true;
    });
    if (delivered) this.wake(a.instanceId);
  }

  private fireTimers(due: TimerRow[]): void {
    if (this.closed) return;
    const now = iso(Date.now());
    const p = this.store.batch(() => {
      const ids: string[] = [];
      for (const t of due) {
        if (!this.store.deleteTimer(t.id)) continue;
        this.store.enqueueMessage(
          t.instanceId,
          t.executionId,
          makeEvent(EventType.TimerFired, now, { TimerId: t.timerId, FireAt: iso(t.fireAt) }),
        );
        ids.push(t.instanceId);
      }
      return ids;
    });
    this.track(
      p.then(
        (woken) => {
          for (const id of woken) this.wake(id);
        },
        (err: unknown) => {
          if (!this.closed) this.log.error('durable: firing timers failed', { err: String(err) });
        },
      ),
    );
  }

  // ---------------------------------------------------------------- orchestration episodes

  private historyOf(row: InstanceRow): CachedHistory {
    const hit = this.historyCache.get(row.instanceId);
    if (hit && hit.executionId === row.executionId) {
      this.historyCache.delete(row.instanceId);
      this.historyCache.set(row.instanceId, hit);
      return hit;
    }
    const chunks = this.store.historyChunks(row.instanceId);
    const h: CachedHistory = { executionId: row.executionId, chunks };
    this.historyCache.set(row.instanceId, h);
    if (this.historyCache.size > this.historyCacheSize) {
      const oldest = this.historyCache.keys().next().value;
      if (oldest !== undefined) this.historyCache.delete(oldest);
    }
    return h;
  }

  private async runEpisode(instanceId: string): Promise<void> {
    if (this.closed) return;
    const row = this.rowOf(instanceId);
    const msgs = this.store.messagesFor(instanceId);
    if (msgs.length === 0) return;
    if (!row) {
      await this.store.batch(() => {
        for (const m of msgs) this.store.deleteMessage(instanceId, m.id);
      });
      return;
    }
    const now = Date.now();
    const ts = iso(now);
    const history = this.historyOf(row);
    const runtime = cloneRuntime(row.runtime);
    let started = runtime.started;
    let status: RuntimeStatus = row.status;
    const plan: EpisodePlan = {
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
    const newEvents: HistoryEvent[] = [];
    let terminateReason: string | undefined;
    let retryEvent: { event: HistoryEvent; task: PendingTask } | undefined;
    let work = false;
    let skipped = false;

    // The ExecutionStarted of a new execution goes first even if control messages were queued before it.
    const ordered = started ? msgs : startFirst(msgs, row.executionId);
    for (const m of ordered) {
      const e = m.event;
      if (isTerminal(status) || (m.executionId !== null && m.executionId !== row.executionId)) {
        plan.consumed.push(m.id);
        continue;
      }
      if (e.EventType === EventType.ExecutionTerminated) {
        plan.consumed.push(m.id);
        terminateReason = typeof e.Input === 'string' ? e.Input : '';
        status = 'Terminated';
        newEvents.push(e);
        continue;
      }
      if (e.EventType === EventType.ExecutionSuspended) {
        plan.consumed.push(m.id);
        if (status !== 'Suspended') {
          status = 'Suspended';
          newEvents.push(e);
        }
        continue;
      }
      if (e.EventType === EventType.ExecutionResumed) {
        plan.consumed.push(m.id);
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
        plan.consumed.push(m.id);
        if (started) continue;
        started = true;
        runtime.started = true;
        status = 'Running';
      } else if (COMPLETION_TYPES.has(e.EventType)) {
        plan.consumed.push(m.id);
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
        plan.consumed.push(m.id);
      } else {
        plan.consumed.push(m.id);
        continue;
      }
      newEvents.push(e);
      work = true;
    }
    // Messages left for later: run again at once unless the instance is (still) suspended.
    plan.wakeSelf = skipped && status !== 'Suspended';
    if (plan.consumed.length === 0) return;

    if (terminateReason !== undefined) {
      this.finishTerminated(plan, newEvents, terminateReason, ts);
    } else if (!work) {
      plan.row.status = status;
      if (newEvents.length > 0) plan.append.push(...newEvents);
    } else {
      // Events that arrived before a suspend in this batch are still replayed (their completions and retry
      // timers must be processed); the instance is Suspended from the next episode on.
      plan.row.status = status === 'Suspended' ? 'Suspended' : 'Running';
      await this.replay(plan, history, newEvents, retryEvent, now);
    }
    await this.commit(plan, row, history);
  }

  private finishTerminated(plan: EpisodePlan, newEvents: HistoryEvent[], reason: string, ts: string): void {
    const row = plan.row;
    row.status = 'Terminated';
    row.output = JSON.stringify(reason);
    plan.append.push(...newEvents);
    plan.deleteTimers = true;
    plan.deleteActivities = true;
    this.notifyParent(plan, false, `Orchestration '${row.instanceId}' was terminated: ${reason}`, ts);
  }

  private notifyParent(plan: EpisodePlan, ok: boolean, resultOrReason: string, ts: string): void {
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

  private async replay(
    plan: EpisodePlan,
    history: CachedHistory,
    newEvents: HistoryEvent[],
    retryEvent: { event: HistoryEvent; task: PendingTask } | undefined,
    now: number,
  ): Promise<void> {
    const row = plan.row;
    const runtime = row.runtime;
    const ts = iso(now);
    const episodeEvents = [makeEvent(EventType.OrchestratorStarted, ts), ...newEvents];
    const newText = episodeEvents.map((e) => JSON.stringify({ ...e, IsPlayed: false })).join(',');
    const historyText = history.chunks.length > 0 ? `${history.chunks.join(',')},${newText}` : newText;
    const payload =
      `{"history":[${historyText}],${row.input !== null ? `"input":${row.input},` : ''}` +
      `"instanceId":${JSON.stringify(row.instanceId)},"isReplaying":${history.chunks.length > 0},` +
      `"parentInstanceId":${JSON.stringify(row.parentInstanceId)},"upperSchemaVersion":1,"upperSchemaVersionNew":2,` +
      `"longRunningTimerIntervalDuration":"3.00:00:00","maximumShortTimerDuration":"6.00:00:00",` +
      `"defaultHttpAsyncRequestSleepTimeMillseconds":30000}`;

    const res = await this.invoker.invoke(row.name, { json: payload });
    let state: OrchestratorState | undefined;
    let failure: string | undefined;
    if (res.ok) {
      state = parseState(res.returnValue);
      if (!state) failure = 'The orchestrator function returned no orchestration state.';
    } else {
      state = stateFromOrchestratorError(res.error);
      failure = state?.error ?? res.error.message;
    }

    const all = (state?.actions ?? []).flat();
    const fresh = all.slice(runtime.actionsProcessed);
    runtime.actionsProcessed = all.length;
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
              this.scheduleActivity(plan, scheduled, id, a.functionName ?? '', input, retry, ts);
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
              this.scheduleSubOrchestration(
                plan,
                scheduled,
                id,
                a.functionName ?? '',
                input,
                childId,
                fixedId,
                retry,
                ts,
              );
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

    if (failure === undefined && state && !state.isDone && retryEvent) {
      this.applyRetry(plan, scheduled, retryEvent, now);
    }

    plan.append.push(...episodeEvents, ...scheduled, makeEvent(EventType.OrchestratorCompleted, ts));
    if (state && state.customStatus !== undefined) row.customStatus = JSON.stringify(state.customStatus);

    if (failure !== undefined) {
      row.status = 'Failed';
      const message = `Orchestrator function '${row.name}' failed: ${failure}`;
      row.output = JSON.stringify(message);
      plan.append.push(makeEvent(EventType.ExecutionCompleted, ts, { OrchestrationStatus: 'Failed', Result: message }));
      plan.deleteTimers = true;
      this.notifyParent(plan, false, message, ts);
      // The failure the orchestrator reported, not the wrapper's text (see functions-host/describe-error.ts).
      this.log.error('durable: orchestration failed', {
        instanceId: row.instanceId,
        name: row.name,
        error: failure,
        ...(res.ok ? {} : describeDetails(res.error)),
      });
    } else if (state?.isDone && continueAsNew) {
      this.continueAsNew(plan, history, newEvents, all, continueAsNew, ts);
    } else if (state?.isDone) {
      row.status = 'Completed';
      row.output = JSON.stringify(state.output ?? null);
      plan.append.push(
        makeEvent(EventType.ExecutionCompleted, ts, { OrchestrationStatus: 'Completed', Result: row.output }),
      );
      plan.deleteTimers = true;
      this.notifyParent(plan, true, row.output, ts);
    }
  }

  private scheduleActivity(
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

  private scheduleSubOrchestration(
    plan: EpisodePlan,
    scheduled: HistoryEvent[],
    id: number,
    name: string,
    input: string,
    childId: string,
    fixedId: boolean,
    retry: RetryState | undefined,
    ts: string,
  ): void {
    const row = plan.row;
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
    const resolved = this.orchestratorNames.get(name.toLowerCase()) ?? name;
    plan.children.push({
      parentTaskId: id,
      start: makeEvent(EventType.ExecutionStarted, ts, { Name: resolved, Input: input, Version: '' }),
      row: {
        instanceId: childId,
        name: resolved,
        executionId: randomUUID(),
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

  private applyRetry(
    plan: EpisodePlan,
    scheduled: HistoryEvent[],
    retryEvent: { event: HistoryEvent; task: PendingTask },
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
    if (r.timedOut) {
      // retryTimeout elapsed: the remaining attempts fail at once, without running.
      if (task.target === 'activity') {
        scheduled.push(makeEvent(EventType.TaskScheduled, ts, { EventId: id, Name: task.name, Input: task.input }));
        runtime.pending[id] = { kind: 'activity', name: task.name, input: task.input, retry: next };
      } else {
        const childId = task.fixedId && task.instanceId ? task.instanceId : `${row.instanceId}:${id}`;
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
      this.scheduleActivity(plan, scheduled, id, task.name, task.input, next, ts);
    } else {
      const childId = task.fixedId && task.instanceId ? task.instanceId : `${row.instanceId}:${id}`;
      this.scheduleSubOrchestration(
        plan,
        scheduled,
        id,
        task.name,
        task.input,
        childId,
        task.fixedId ?? false,
        next,
        ts,
      );
    }
  }

  private continueAsNew(
    plan: EpisodePlan,
    history: CachedHistory,
    newEvents: HistoryEvent[],
    allActions: WireAction[],
    action: WireAction,
    ts: string,
  ): void {
    const row = plan.row;
    // External events that reached this execution but were never waited for are carried over into the new
    // execution (DurableOrchestrationContext.ContinueAsNew with preserveUnprocessedEvents), so a sender
    // that raced the restart does not lose its event. Events still queued simply stay queued.
    const raised = [...(JSON.parse(`[${history.chunks.join(',')}]`) as HistoryEvent[]), ...newEvents].filter(
      (e) => e.EventType === EventType.EventRaised,
    );
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
    const input = processedInputToJson(action.input);
    row.status = 'ContinuedAsNew';
    row.executionId = randomUUID();
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

  /** Step 5: one transaction for the whole episode, then in-memory bookkeeping and wake-ups. */
  private async commit(plan: EpisodePlan, before: InstanceRow, history: CachedHistory): Promise<void> {
    if (this.closed) throw new StaleEpisodeError('store closed');
    const row = plan.row;
    const appendText = plan.append.map((e) => JSON.stringify({ ...e, IsPlayed: true })).join(',');
    const wake = new Set<string>();
    const { activities, timers } = await this.store.batch(() => {
      wake.clear();
      // A restart or purge of this instance while the orchestrator ran makes this episode stale: the guarded
      // UPDATE then matches no row, nothing has been written, and the unit refuses.
      if (!this.store.updateInstance(row, before.executionId)) throw new StaleEpisodeError('stale');
      if (plan.resetHistory) this.store.resetHistory(row.instanceId);
      if (appendText !== '')
        this.store.appendHistory(row.instanceId, plan.resetHistory ? 0 : history.chunks.length, appendText);
      for (const id of plan.consumed) this.store.deleteMessage(row.instanceId, id);
      if (plan.deleteTimers) this.store.deleteTimersOf(row.instanceId);
      if (plan.deleteActivities) this.store.deleteInstanceActivities(row.instanceId);
      const messages = [...plan.messages];
      for (const c of plan.children) {
        const existing = this.store.getInstance(c.row.instanceId);
        if (existing && !isTerminal(existing.status)) {
          messages.push({
            instanceId: row.instanceId,
            executionId: row.executionId,
            event: makeEvent(EventType.SubOrchestrationInstanceFailed, iso(row.lastUpdatedAt), {
              TaskScheduledId: c.parentTaskId,
              Reason: `An orchestration with instance ID '${c.row.instanceId}' already exists and is ${existing.status}.`,
              Details: '',
            }),
          });
          continue;
        }
        if (existing) this.store.deleteInstance(c.row.instanceId, true);
        this.store.putInstance(c.row);
        this.store.enqueueMessage(c.row.instanceId, c.row.executionId, c.start);
        wake.add(c.row.instanceId);
      }
      for (const m of messages) {
        this.store.enqueueMessage(m.instanceId, m.executionId, m.event);
        wake.add(m.instanceId);
      }
      return {
        activities: plan.activities.map((a) => this.store.enqueueActivity(a)),
        timers: plan.timers.map((t) => this.store.enqueueTimer(t)),
      };
    });

    // In-memory state follows the committed state.
    this.setRow(row);
    for (const c of plan.children) {
      if (wake.has(c.row.instanceId)) {
        this.dropRow(c.row.instanceId);
        this.setRow(c.row);
        this.historyCache.set(c.row.instanceId, { executionId: c.row.executionId, chunks: [] });
      }
    }
    if (isTerminal(row.status)) {
      this.historyCache.delete(row.instanceId);
    } else if (plan.resetHistory) {
      this.historyCache.set(row.instanceId, { executionId: row.executionId, chunks: [] });
    } else if (appendText !== '') {
      history.chunks.push(appendText);
    }
    for (const a of activities) this.activityQueue.push(a);
    for (const t of timers) this.timers.add(t);
    if (plan.wakeSelf) this.rerun.add(row.instanceId);
    for (const id of wake) {
      if (id === row.instanceId) this.rerun.add(id);
      else this.wake(id);
    }
    this.schedulePump();
    for (const l of this.listeners) l(row);
  }
}

function startFirst(msgs: MessageRow[], executionId: string): MessageRow[] {
  const i = msgs.findIndex((m) => m.event.EventType === EventType.ExecutionStarted && m.executionId === executionId);
  if (i <= 0) return msgs;
  return [msgs[i]!, ...msgs.slice(0, i), ...msgs.slice(i + 1)];
}
