// The durable client's operations (what the HTTP API serves): start, raise, terminate, suspend, resume,
// purge, status and history queries. Each change is one unit of the store; the instance is woken only
// after it has committed, so an answered request is never lost to a crash.

import { randomUUID } from 'node:crypto';
import { freshRuntime } from './episode-plan.js';
import { EventType, type HistoryEvent, makeEvent } from './history.js';
import type { InstanceCache } from './instance-cache.js';
import {
  type InstanceQuery,
  type InstanceRow,
  isTerminal,
  type RuntimeStatus,
  type SqliteDurableStore,
} from './sqlite-store.js';

export type StartResult =
  | { kind: 'started'; instanceId: string }
  | { kind: 'conflict'; status: RuntimeStatus }
  | { kind: 'unknownOrchestrator' };

export type ControlResult = 'accepted' | 'notFound' | 'gone';

export interface ClientDeps {
  store: SqliteDurableStore;
  cache: InstanceCache;
  /** The registered name of an orchestrator (case-insensitive), or undefined when none has that name. */
  resolveOrchestrator(name: string): string | undefined;
  /** The instance has new messages. */
  wake(instanceId: string): void;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class ClientOperations {
  constructor(private readonly deps: ClientDeps) {}

  async startNew(name: string, instanceId: string | undefined, inputJson: string | null): Promise<StartResult> {
    const { store, cache } = this.deps;
    const resolved = this.deps.resolveOrchestrator(name);
    if (!resolved) return { kind: 'unknownOrchestrator' };
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    type Unit = Exclude<StartResult, { kind: 'started' }> | { kind: 'started'; instanceId: string; row: InstanceRow };
    const result = await store.batch((): Unit => {
      const existing = store.getInstance(id);
      if (existing && !isTerminal(existing.status)) return { kind: 'conflict', status: existing.status };
      if (existing) store.deleteInstance(id, true);
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
      store.putInstance(row);
      store.enqueueMessage(
        id,
        row.executionId,
        makeEvent(EventType.ExecutionStarted, iso(now), { Name: resolved, Input: inputJson, Version: '' }),
      );
      return { kind: 'started', instanceId: id, row };
    });
    if (result.kind !== 'started') return result;
    cache.drop(id);
    cache.setRow(result.row);
    cache.startHistory(id, result.row.executionId);
    this.deps.wake(id);
    return { kind: 'started', instanceId: id };
  }

  getInstance(instanceId: string): InstanceRow | undefined {
    return this.deps.cache.row(instanceId);
  }

  historyEvents(instanceId: string): HistoryEvent[] {
    return JSON.parse(`[${this.deps.store.historyChunks(instanceId).join(',')}]`) as HistoryEvent[];
  }

  queryInstances(q: InstanceQuery): InstanceRow[] {
    return this.deps.store.queryInstances(q);
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
    const { store } = this.deps;
    const r = await store.batch(() => {
      const row = store.getInstance(instanceId);
      if (!row) return 'notFound' as const;
      if (!isTerminal(row.status)) return 'conflict' as const;
      store.deleteInstance(instanceId);
      return 'purged' as const;
    });
    if (r === 'purged') this.deps.cache.drop(instanceId);
    return r;
  }

  async purgeWhere(q: InstanceQuery): Promise<number> {
    const { store } = this.deps;
    const statuses = (q.statuses ?? ['Completed', 'Failed', 'Terminated']).filter((s) => isTerminal(s));
    if (statuses.length === 0) return 0;
    const rows = await store.batch(() => {
      const found = store.queryInstances({ ...q, statuses });
      for (const r of found) store.deleteInstance(r.instanceId);
      return found;
    });
    for (const r of rows) this.deps.cache.drop(r.instanceId);
    return rows.length;
  }

  private async sendControl(instanceId: string, event: HistoryEvent): Promise<ControlResult> {
    const { store } = this.deps;
    const r = await store.batch((): ControlResult => {
      const row = store.getInstance(instanceId);
      if (!row) return 'notFound';
      if (isTerminal(row.status)) return 'gone';
      store.enqueueMessage(instanceId, null, event);
      return 'accepted';
    });
    if (r === 'accepted') this.deps.wake(instanceId);
    return r;
  }
}
