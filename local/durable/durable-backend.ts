// DurableBackend: runs orchestration episodes, activities and timers over the SQLite store. It wires the
// parts, each in its own file and tested alone:
//   client-operations.ts      start / raise / terminate / suspend / resume / purge / queries (HTTP API)
//   dispatcher.ts             which episodes and activities run now (concurrency, one episode per instance)
//   activities-and-timers.ts  an activity's run and a due timer, each committed as a message
//   episode-intake.ts         messages → new history events (pure)
//   orchestration-trigger.ts  the payload the replay engine is invoked with
//   episode-plan.ts           the engine's answer → what the episode commits (pure)
//   episode-commit.ts         the plan in one transaction
//   instance-cache.ts         committed rows and history text kept in memory
//
// Pipeline of one orchestration episode (runEpisode):
//   1. read the instance row and its queued messages (the DB is the source of truth)
//   2. turn messages into new history events (dropping stale/duplicate ones, honouring suspend/terminate)
//   3. invoke the orchestrator function through the host with the trigger payload (real replay engine)
//   4. diff the engine's cumulative actions against what was already scheduled, number new tasks
//   5. commit ONE transaction: history append + instance row + new activities/timers/messages + consumed
//      messages deleted; then wake whoever got work (in-process, no polling).

import { randomUUID } from 'node:crypto';
import type { FunctionInvoker, HostLogger, RegisteredFunction } from '../functions-host/contracts.js';
import { describeError } from '../functions-host/describe-error.js';
import { fireTimers, runActivity, type TaskDeps } from './activities-and-timers.js';
import { ClientOperations, type ControlResult, type StartResult } from './client-operations.js';
import { Dispatcher } from './dispatcher.js';
import { appendText, commitEpisode, StaleEpisodeError } from './episode-commit.js';
import { takeMessages } from './episode-intake.js';
import {
  cloneRuntime,
  type EpisodePlan,
  newEpisodePlan,
  type PlanContext,
  planFromEngine,
  planTermination,
  readEngineOutcome,
} from './episode-plan.js';
import { EventType, type HistoryEvent, makeEvent } from './history.js';
import { type CachedHistory, InstanceCache } from './instance-cache.js';
import { orchestrationTriggerJson } from './orchestration-trigger.js';
import type { InstanceQuery, InstanceRow, SqliteDurableStore } from './sqlite-store.js';
import { isTerminal } from './sqlite-store.js';
import { TimerWheel } from './timer-wheel.js';

export { rpcToJson } from './activities-and-timers.js';
export type { ControlResult, StartResult } from './client-operations.js';

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

export type StatusListener = (row: InstanceRow) => void;

const iso = (ms: number) => new Date(ms).toISOString();

export class DurableBackend {
  private readonly store: SqliteDurableStore;
  private readonly invoker: FunctionInvoker;
  private readonly log: HostLogger;
  private readonly orchestratorNames = new Map<string, string>();
  private readonly activityNames = new Map<string, string>();
  private readonly cache: InstanceCache;
  private readonly dispatcher: Dispatcher;
  private readonly client: ClientOperations;
  private readonly tasks: TaskDeps;
  private readonly planContext: PlanContext;
  private readonly timers: TimerWheel;
  private readonly listeners = new Set<StatusListener>();
  private closed = false;

  constructor(opts: DurableBackendOptions) {
    this.store = opts.store;
    this.invoker = opts.invoker;
    this.log = opts.log;
    for (const f of opts.functions) {
      if (f.trigger.binding.type === 'orchestrationTrigger') this.orchestratorNames.set(f.name.toLowerCase(), f.name);
      if (f.trigger.binding.type === 'activityTrigger') this.activityNames.set(f.name.toLowerCase(), f.name);
    }
    this.cache = new InstanceCache(this.store, opts.historyCacheSize ?? 10_000);
    this.dispatcher = new Dispatcher(
      {
        runEpisode: (id) => this.runEpisode(id),
        runActivity: (a) => runActivity(this.tasks, a),
        episodeFailed: (id, err) => this.episodeFailed(id, err),
        activityFailed: (a, err) => {
          if (!this.closed) this.log.error('durable: activity dispatch failed', { err: String(err), id: a.id });
        },
      },
      {
        maxConcurrentActivities: opts.maxConcurrentActivityFunctions,
        maxConcurrentOrchestrations: opts.maxConcurrentOrchestratorFunctions,
      },
    );
    const wake = (id: string) => this.dispatcher.wake(id);
    this.tasks = {
      store: this.store,
      invoker: this.invoker,
      cache: this.cache,
      activityNames: this.activityNames,
      closed: () => this.closed,
      wake,
    };
    this.client = new ClientOperations({
      store: this.store,
      cache: this.cache,
      resolveOrchestrator: (name) => this.orchestratorNames.get(name.toLowerCase()),
      wake,
    });
    this.planContext = {
      resolveOrchestrator: (name) => this.orchestratorNames.get(name.toLowerCase()) ?? name,
      newExecutionId: randomUUID,
    };
    this.timers = new TimerWheel((due) =>
      this.dispatcher.track(
        fireTimers(this.tasks, due).then(
          () => undefined,
          (err: unknown) => {
            if (!this.closed) this.log.error('durable: firing timers failed', { err: String(err) });
          },
        ),
      ),
    );
  }

  /** Loads outstanding work after a (re)start: queued messages, activities, timers. */
  recover(): void {
    for (const a of this.store.allActivities()) this.dispatcher.enqueueActivity(a);
    for (const t of this.store.allTimers()) this.timers.add(t);
    for (const id of this.store.instancesWithMessages()) this.dispatcher.wake(id);
  }

  /** Called after every committed change of an instance's row (tests and benchmarks wait on it). */
  onStatusChange(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(timeoutMs = 5000): Promise<void> {
    this.timers.stop();
    await this.dispatcher.stop(timeoutMs);
    this.closed = true;
  }

  // ---------------------------------------------------------------- client operations (HTTP API)

  startNew(name: string, instanceId: string | undefined, inputJson: string | null): Promise<StartResult> {
    return this.client.startNew(name, instanceId, inputJson);
  }
  getInstance(instanceId: string): InstanceRow | undefined {
    return this.client.getInstance(instanceId);
  }
  historyEvents(instanceId: string): HistoryEvent[] {
    return this.client.historyEvents(instanceId);
  }
  queryInstances(q: InstanceQuery): InstanceRow[] {
    return this.client.queryInstances(q);
  }
  raiseEvent(instanceId: string, eventName: string, inputJson: string | null): Promise<ControlResult> {
    return this.client.raiseEvent(instanceId, eventName, inputJson);
  }
  terminate(instanceId: string, reason: string): Promise<ControlResult> {
    return this.client.terminate(instanceId, reason);
  }
  suspend(instanceId: string, reason: string): Promise<ControlResult> {
    return this.client.suspend(instanceId, reason);
  }
  resume(instanceId: string, reason: string): Promise<ControlResult> {
    return this.client.resume(instanceId, reason);
  }
  purge(instanceId: string): Promise<'purged' | 'notFound' | 'conflict'> {
    return this.client.purge(instanceId);
  }
  purgeWhere(q: InstanceQuery): Promise<number> {
    return this.client.purgeWhere(q);
  }

  // ---------------------------------------------------------------- orchestration episodes

  private episodeFailed(instanceId: string, err: unknown): void {
    if (err instanceof StaleEpisodeError) {
      this.dispatcher.wake(instanceId);
      return;
    }
    if (this.closed) return;
    this.log.error('durable: orchestration episode failed; retrying in 1 s', { instanceId, err: String(err) });
    setTimeout(() => this.dispatcher.wake(instanceId), 1000).unref();
  }

  private async runEpisode(instanceId: string): Promise<void> {
    if (this.closed) return;
    const row = this.cache.row(instanceId);
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
    const history = this.cache.history(row);
    const runtime = cloneRuntime(row.runtime);
    const intake = takeMessages(row, runtime, msgs);
    const plan = newEpisodePlan(row, runtime, now);
    plan.consumed = intake.consumed;
    plan.wakeSelf = intake.wakeSelf;
    if (plan.consumed.length === 0) return;

    if (intake.terminateReason !== undefined) {
      planTermination(plan, intake.newEvents, intake.terminateReason, ts);
    } else if (!intake.work) {
      plan.row.status = intake.status;
      if (intake.newEvents.length > 0) plan.append.push(...intake.newEvents);
    } else {
      // Events that arrived before a suspend in this batch are still replayed (their completions and retry
      // timers must be processed); the instance is Suspended from the next episode on.
      plan.row.status = intake.status === 'Suspended' ? 'Suspended' : 'Running';
      await this.replay(plan, history, intake.newEvents, intake.retryEvent, now);
    }
    await this.commit(plan, row, history);
  }

  /** Steps 3-4: invoke the orchestrator on its history and plan from the engine's answer. */
  private async replay(
    plan: EpisodePlan,
    history: CachedHistory,
    newEvents: HistoryEvent[],
    retryEvent: Parameters<typeof planFromEngine>[2]['retryEvent'],
    now: number,
  ): Promise<void> {
    const row = plan.row;
    const episodeEvents = [makeEvent(EventType.OrchestratorStarted, iso(now)), ...newEvents];
    const newText = episodeEvents.map((e) => JSON.stringify({ ...e, IsPlayed: false })).join(',');
    const historyText = history.chunks.length > 0 ? `${history.chunks.join(',')},${newText}` : newText;
    const payload = orchestrationTriggerJson(historyText, {
      instanceId: row.instanceId,
      inputJson: row.input,
      isReplaying: history.chunks.length > 0,
      parentInstanceId: row.parentInstanceId,
    });
    const res = await this.invoker.invoke(row.name, { json: payload });
    const details = res.ok ? undefined : describeError(res.error).details;
    planFromEngine(plan, this.planContext, {
      historyChunks: history.chunks,
      episodeEvents,
      newEvents,
      retryEvent,
      outcome: readEngineOutcome(res),
      ...(details ? { failureDetails: details } : {}),
      now,
    });
  }

  /** Step 5: one transaction for the whole episode, then in-memory bookkeeping and wake-ups. */
  private async commit(plan: EpisodePlan, before: InstanceRow, history: CachedHistory): Promise<void> {
    if (this.closed) throw new StaleEpisodeError('store closed');
    const row = plan.row;
    const text = appendText(plan);
    const { activities, timers, woken } = await commitEpisode(
      this.store,
      plan,
      before.executionId,
      history.chunks.length,
      text,
    );

    // In-memory state follows the committed state.
    this.cache.setRow(row);
    for (const c of plan.children) {
      if (woken.has(c.row.instanceId)) {
        this.cache.drop(c.row.instanceId);
        this.cache.setRow(c.row);
        this.cache.startHistory(c.row.instanceId, c.row.executionId);
      }
    }
    if (isTerminal(row.status)) {
      this.cache.dropHistory(row.instanceId);
    } else if (plan.resetHistory) {
      this.cache.startHistory(row.instanceId, row.executionId);
    } else if (text !== '') {
      history.chunks.push(text);
    }
    for (const a of activities) this.dispatcher.enqueueActivity(a);
    for (const t of timers) this.timers.add(t);
    if (plan.wakeSelf) this.dispatcher.wake(row.instanceId);
    for (const id of woken) this.dispatcher.wake(id);
    if (plan.failure) {
      // The failure the orchestrator reported, not the wrapper's text (see functions-host/describe-error.ts).
      this.log.error('durable: orchestration failed', {
        instanceId: row.instanceId,
        name: row.name,
        error: plan.failure.message,
        ...(plan.failure.details ? { details: plan.failure.details } : {}),
      });
    }
    for (const l of this.listeners) l(row);
  }
}
