// SqliteDurableStore: the durable state of the task hub in one SQLite file (WAL). Every state change the
// dispatchers make goes through `transaction`, so "append history + enqueue resulting work + complete the
// work item" is one atomic commit: after a kill -9 the file holds either all of an episode or none of it.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { EventLedger } from './external-event-ledger.js';
import type { HistoryEvent, WireRetryOptions } from './history.js';

/** Thrown by a batch unit BEFORE its first write to refuse the work (e.g. it became stale). */
export class UnitRejected extends Error {}

export type RuntimeStatus =
  | 'Pending'
  | 'Running'
  | 'Completed'
  | 'ContinuedAsNew'
  | 'Failed'
  | 'Terminated'
  | 'Suspended';

export const TERMINAL_STATUSES: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Terminated']);

export function isTerminal(status: RuntimeStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

export interface RetryState {
  options: WireRetryOptions;
  /** 1-based number of the attempt that ran (or is running) last. */
  attempt: number;
  firstAttemptAt: number;
  /** Set once retryTimeoutInMilliseconds has elapsed: remaining attempts fail without running. */
  timedOut?: boolean;
  lastReason?: string;
  lastDetails?: string;
}

/** A task the orchestration is waiting for, keyed by its sequence number (TaskScheduledId / TimerId). */
export type PendingTask =
  | { kind: 'activity'; name: string; input: string; retry?: RetryState }
  | { kind: 'subOrchestration'; name: string; input: string; instanceId: string; fixedId: boolean; retry?: RetryState }
  | { kind: 'timer' }
  | {
      kind: 'retryTimer';
      target: 'activity' | 'subOrchestration';
      name: string;
      input: string;
      instanceId?: string;
      fixedId?: boolean;
      retry: RetryState;
    };

/** Bookkeeping that lets the backend diff the replay engine's cumulative actions against what it scheduled. */
export interface InstanceRuntime {
  /** The current execution's ExecutionStarted has been delivered. */
  started: boolean;
  nextSeq: number;
  actionsProcessed: number;
  pending: Record<string, PendingTask>;
  /** Raised events not yet consumed (carried over by continueAsNew). Absent in rows written before it existed. */
  events?: EventLedger;
}

export interface InstanceRow {
  instanceId: string;
  name: string;
  executionId: string;
  status: RuntimeStatus;
  /** JSON texts (null when absent). */
  input: string | null;
  output: string | null;
  customStatus: string | null;
  createdAt: number;
  lastUpdatedAt: number;
  parentInstanceId: string | null;
  parentExecutionId: string | null;
  parentTaskId: number | null;
  runtime: InstanceRuntime;
}

export interface MessageRow {
  id: number;
  instanceId: string;
  executionId: string | null;
  event: HistoryEvent;
}

export interface ActivityRow {
  id: number;
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  input: string;
}

export interface TimerRow {
  id: number;
  instanceId: string;
  executionId: string;
  timerId: number;
  fireAt: number;
}

export interface InstanceQuery {
  createdFrom?: number;
  createdTo?: number;
  statuses?: readonly RuntimeStatus[];
  /** Exclusive lower bound for paging: (createdAt, instanceId) of the last row of the previous page. */
  after?: { createdAt: number; instanceId: string };
  limit?: number;
}

interface InstanceDbRow {
  instance_id: string;
  name: string;
  execution_id: string;
  status: RuntimeStatus;
  input: string | null;
  output: string | null;
  custom_status: string | null;
  created_at: number;
  last_updated_at: number;
  parent_instance_id: string | null;
  parent_execution_id: string | null;
  parent_task_id: number | null;
  runtime: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS instances (
  instance_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  execution_id TEXT NOT NULL,
  status TEXT NOT NULL,
  input TEXT,
  output TEXT,
  custom_status TEXT,
  created_at INTEGER NOT NULL,
  last_updated_at INTEGER NOT NULL,
  parent_instance_id TEXT,
  parent_execution_id TEXT,
  parent_task_id INTEGER,
  runtime TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_by_created ON instances (created_at, instance_id);
CREATE TABLE IF NOT EXISTS history (
  instance_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  events TEXT NOT NULL,
  PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id TEXT NOT NULL,
  execution_id TEXT,
  event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_instance ON messages (instance_id, id);
CREATE TABLE IF NOT EXISTS activities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id TEXT NOT NULL,
  execution_id TEXT NOT NULL,
  task_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  input TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_by_instance ON activities (instance_id);
CREATE TABLE IF NOT EXISTS timers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id TEXT NOT NULL,
  execution_id TEXT NOT NULL,
  timer_id INTEGER NOT NULL,
  fire_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_by_instance ON timers (instance_id);
`;

function toInstance(r: InstanceDbRow): InstanceRow {
  return {
    instanceId: r.instance_id,
    name: r.name,
    executionId: r.execution_id,
    status: r.status,
    input: r.input,
    output: r.output,
    customStatus: r.custom_status,
    createdAt: r.created_at,
    lastUpdatedAt: r.last_updated_at,
    parentInstanceId: r.parent_instance_id,
    parentExecutionId: r.parent_execution_id,
    parentTaskId: r.parent_task_id,
    runtime: JSON.parse(r.runtime) as InstanceRuntime,
  };
}

export class SqliteDurableStore {
  private readonly db: Database.Database;
  private readonly stmts;

  private checkpointer: Worker | undefined;

  constructor(dataDir: string, fileName = 'durable.sqlite') {
    mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, fileName);
    this.db = new Database(file);
    // WAL + synchronous=NORMAL: a committed transaction survives a process crash (kill -9); only an OS
    // crash / power loss can drop the last commits, which the local stack accepts.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    // Checkpoints (and their fsync) run on a worker thread instead of inside our commits.
    this.db.pragma('wal_autocheckpoint = 0');
    this.checkpointer = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
      workerData: { file, intervalMs: 250 },
    });
    this.checkpointer.unref();
    const db = this.db;
    this.stmts = {
      getInstance: db.prepare<[string], InstanceDbRow>('SELECT * FROM instances WHERE instance_id = ?'),
      executionOf: db.prepare<[string], { execution_id: string }>(
        'SELECT execution_id FROM instances WHERE instance_id = ?',
      ),
      upsertInstance: db.prepare(
        `INSERT INTO instances (instance_id, name, execution_id, status, input, output, custom_status, created_at,
           last_updated_at, parent_instance_id, parent_execution_id, parent_task_id, runtime)
         VALUES (@instanceId, @name, @executionId, @status, @input, @output, @customStatus, @createdAt,
           @lastUpdatedAt, @parentInstanceId, @parentExecutionId, @parentTaskId, @runtime)
         ON CONFLICT (instance_id) DO UPDATE SET name = excluded.name, execution_id = excluded.execution_id,
           status = excluded.status, input = excluded.input, output = excluded.output,
           custom_status = excluded.custom_status, created_at = excluded.created_at,
           last_updated_at = excluded.last_updated_at, parent_instance_id = excluded.parent_instance_id,
           parent_execution_id = excluded.parent_execution_id, parent_task_id = excluded.parent_task_id,
           runtime = excluded.runtime`,
      ),
      updateInstance: db.prepare(
        `UPDATE instances SET execution_id = ?, status = ?, input = ?, output = ?, custom_status = ?,
           last_updated_at = ?, runtime = ? WHERE instance_id = ? AND execution_id = ?`,
      ),
      history: db.prepare<[string], { events: string }>(
        'SELECT events FROM history WHERE instance_id = ? ORDER BY seq',
      ),
      appendHistory: db.prepare('INSERT INTO history (instance_id, seq, events) VALUES (?, ?, ?)'),
      deleteHistory: db.prepare('DELETE FROM history WHERE instance_id = ?'),
      allMessages: db.prepare<[], { id: number; instance_id: string; execution_id: string | null; event: string }>(
        'SELECT id, instance_id, execution_id, event FROM messages ORDER BY id',
      ),
      insertMessage: db.prepare('INSERT INTO messages (instance_id, execution_id, event) VALUES (?, ?, ?)'),
      deleteMessage: db.prepare('DELETE FROM messages WHERE id = ?'),
      deleteMessagesOf: db.prepare('DELETE FROM messages WHERE instance_id = ?'),
      insertActivity: db.prepare(
        'INSERT INTO activities (instance_id, execution_id, task_id, name, input) VALUES (?, ?, ?, ?, ?)',
      ),
      activityExists: db.prepare<[number], { id: number }>('SELECT id FROM activities WHERE id = ?'),
      deleteActivity: db.prepare('DELETE FROM activities WHERE id = ?'),
      deleteActivitiesOf: db.prepare('DELETE FROM activities WHERE instance_id = ?'),
      allActivities: db.prepare<
        [],
        { id: number; instance_id: string; execution_id: string; task_id: number; name: string; input: string }
      >('SELECT * FROM activities ORDER BY id'),
      insertTimer: db.prepare('INSERT INTO timers (instance_id, execution_id, timer_id, fire_at) VALUES (?, ?, ?, ?)'),
      timerExists: db.prepare<[number], { id: number }>('SELECT id FROM timers WHERE id = ?'),
      deleteTimer: db.prepare('DELETE FROM timers WHERE id = ?'),
      deleteTimersOf: db.prepare('DELETE FROM timers WHERE instance_id = ?'),
      allTimers: db.prepare<
        [],
        { id: number; instance_id: string; execution_id: string; timer_id: number; fire_at: number }
      >('SELECT * FROM timers ORDER BY fire_at'),
      deleteInstance: db.prepare('DELETE FROM instances WHERE instance_id = ?'),
    };
    this.loadMirror();
  }

  /** Runs `fn` in one IMMEDIATE transaction: all of its writes commit together or not at all. */
  transaction<T>(fn: () => T): T {
    const journal: (() => void)[] = [];
    this.journal = journal;
    try {
      const v = this.db.transaction(fn).immediate();
      for (const j of journal) j();
      return v;
    } finally {
      this.journal = undefined;
    }
  }

  private batchQueue: { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private flushQueued = false;
  /** In-memory mirror of the messages table (instance → rows by id), updated only after COMMIT. */
  private readonly mirror = new Map<string, MessageRow[]>();
  /** Mirror updates of the unit being run; applied once its transaction has committed. */
  private journal: (() => void)[] | undefined;

  private afterCommit(fn: () => void): void {
    if (this.journal) this.journal.push(fn);
    else fn();
  }

  /**
   * Group commit: queues `fn` (synchronous DB work) for the next flush, which runs every queued unit in ONE
   * transaction, each unit in its own savepoint (a unit that throws rolls back alone and its promise rejects).
   * The promise settles after the COMMIT, so callers only publish work (wake dispatchers) once it is durable.
   * Each unit stays atomic; batching only amortizes the commit cost over everything queued in one tick.
   * Fast path: no savepoints. A unit may refuse by throwing UnitRejected before its first write; any other
   * error rolls the whole batch back and every unit is re-run alone in its own transaction.
   */
  batch<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.batchQueue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushQueued) {
        this.flushQueued = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushQueued = false;
    const units = this.batchQueue;
    this.batchQueue = [];
    if (units.length === 0) return;
    const outcomes: { ok: boolean; value: unknown; journal: (() => void)[] }[] = [];
    let fastPathFailed = false;
    try {
      this.db
        .transaction(() => {
          for (const u of units) {
            const journal: (() => void)[] = [];
            this.journal = journal;
            try {
              outcomes.push({ ok: true, value: u.fn(), journal });
            } catch (err) {
              if (!(err instanceof UnitRejected)) throw err;
              outcomes.push({ ok: false, value: err, journal: [] });
            }
          }
        })
        .immediate();
    } catch {
      fastPathFailed = true;
    } finally {
      this.journal = undefined;
    }
    if (fastPathFailed) {
      for (const u of units) {
        try {
          u.resolve(this.transaction(u.fn));
        } catch (err) {
          u.reject(err);
        }
      }
      return;
    }
    units.forEach((u, i) => {
      const o = outcomes[i]!;
      for (const j of o.journal) j();
      if (o.ok) u.resolve(o.value);
      else u.reject(o.value);
    });
  }

  getInstance(instanceId: string): InstanceRow | undefined {
    const r = this.stmts.getInstance.get(instanceId);
    return r ? toInstance(r) : undefined;
  }

  executionIdOf(instanceId: string): string | undefined {
    return this.stmts.executionOf.get(instanceId)?.execution_id;
  }

  /**
   * Writes the mutable state of an existing instance. Unlike putInstance it leaves the key, name, parent
   * and created_at (and so the created_at index) untouched: fewer pages per commit on the hot path.
   * Only updates while the stored execution id is still `expectedExecutionId`; returns whether it did.
   */
  updateInstance(row: InstanceRow, expectedExecutionId: string): boolean {
    const r = this.stmts.updateInstance.run(
      row.executionId,
      row.status,
      row.input,
      row.output,
      row.customStatus,
      row.lastUpdatedAt,
      JSON.stringify(row.runtime),
      row.instanceId,
      expectedExecutionId,
    );
    return r.changes > 0;
  }

  putInstance(row: InstanceRow): void {
    this.stmts.upsertInstance.run({ ...row, runtime: JSON.stringify(row.runtime) });
  }

  /**
   * History of the current execution: one row per episode holding that episode's events as comma-joined
   * JSON objects (one insert per episode). Returns the chunks in order.
   */
  historyChunks(instanceId: string): string[] {
    return this.stmts.history.all(instanceId).map((r) => r.events);
  }

  appendHistory(instanceId: string, seq: number, eventsText: string): void {
    this.stmts.appendHistory.run(instanceId, seq, eventsText);
  }

  resetHistory(instanceId: string): void {
    this.stmts.deleteHistory.run(instanceId);
  }

  /** Committed queued messages of an instance, oldest first (served from the in-memory mirror). */
  messagesFor(instanceId: string): MessageRow[] {
    return this.mirror.get(instanceId)?.slice() ?? [];
  }

  enqueueMessage(instanceId: string, executionId: string | null, event: HistoryEvent): number {
    const id = Number(this.stmts.insertMessage.run(instanceId, executionId, JSON.stringify(event)).lastInsertRowid);
    this.afterCommit(() => {
      const list = this.mirror.get(instanceId);
      const row: MessageRow = { id, instanceId, executionId, event };
      if (list) list.push(row);
      else this.mirror.set(instanceId, [row]);
    });
    return id;
  }

  deleteMessage(instanceId: string, id: number): void {
    this.stmts.deleteMessage.run(id);
    this.afterCommit(() => {
      const list = this.mirror.get(instanceId);
      if (!list) return;
      const i = list.findIndex((m) => m.id === id);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.mirror.delete(instanceId);
    });
  }

  /** Instances with queued messages, in order of their oldest message. */
  instancesWithMessages(): string[] {
    return [...this.mirror.entries()].sort((a, b) => a[1][0]!.id - b[1][0]!.id).map(([id]) => id);
  }

  private loadMirror(): void {
    for (const r of this.stmts.allMessages.all()) {
      const row: MessageRow = {
        id: r.id,
        instanceId: r.instance_id,
        executionId: r.execution_id,
        event: JSON.parse(r.event) as HistoryEvent,
      };
      const list = this.mirror.get(r.instance_id);
      if (list) list.push(row);
      else this.mirror.set(r.instance_id, [row]);
    }
  }

  enqueueActivity(a: Omit<ActivityRow, 'id'>): ActivityRow {
    const id = Number(
      this.stmts.insertActivity.run(a.instanceId, a.executionId, a.taskId, a.name, a.input).lastInsertRowid,
    );
    return { id, ...a };
  }

  activityExists(id: number): boolean {
    return this.stmts.activityExists.get(id) !== undefined;
  }

  /** Returns false when the row was already gone (purged / instance restarted). */
  deleteActivity(id: number): boolean {
    return this.stmts.deleteActivity.run(id).changes > 0;
  }

  allActivities(): ActivityRow[] {
    return this.stmts.allActivities.all().map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      executionId: r.execution_id,
      taskId: r.task_id,
      name: r.name,
      input: r.input,
    }));
  }

  enqueueTimer(t: Omit<TimerRow, 'id'>): TimerRow {
    const id = Number(this.stmts.insertTimer.run(t.instanceId, t.executionId, t.timerId, t.fireAt).lastInsertRowid);
    return { id, ...t };
  }

  timerExists(id: number): boolean {
    return this.stmts.timerExists.get(id) !== undefined;
  }

  deleteTimer(id: number): boolean {
    return this.stmts.deleteTimer.run(id).changes > 0;
  }

  deleteInstanceActivities(instanceId: string): void {
    this.stmts.deleteActivitiesOf.run(instanceId);
  }

  deleteTimersOf(instanceId: string): void {
    this.stmts.deleteTimersOf.run(instanceId);
  }

  allTimers(): TimerRow[] {
    return this.stmts.allTimers.all().map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      executionId: r.execution_id,
      timerId: r.timer_id,
      fireAt: r.fire_at,
    }));
  }

  /** Removes every trace of an instance (history, queued work, the instance row). */
  deleteInstance(instanceId: string, keepRow = false): void {
    this.stmts.deleteHistory.run(instanceId);
    this.stmts.deleteMessagesOf.run(instanceId);
    this.afterCommit(() => this.mirror.delete(instanceId));
    this.stmts.deleteActivitiesOf.run(instanceId);
    this.stmts.deleteTimersOf.run(instanceId);
    if (!keepRow) this.stmts.deleteInstance.run(instanceId);
  }

  queryInstances(q: InstanceQuery): InstanceRow[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.createdFrom !== undefined) {
      where.push('created_at >= ?');
      params.push(q.createdFrom);
    }
    if (q.createdTo !== undefined) {
      where.push('created_at <= ?');
      params.push(q.createdTo);
    }
    if (q.statuses && q.statuses.length > 0) {
      where.push(`status IN (${q.statuses.map(() => '?').join(',')})`);
      params.push(...q.statuses);
    }
    if (q.after) {
      where.push('(created_at > ? OR (created_at = ? AND instance_id > ?))');
      params.push(q.after.createdAt, q.after.createdAt, q.after.instanceId);
    }
    const sql = `SELECT * FROM instances ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at, instance_id ${q.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(q.limit))}` : ''}`;
    return this.db
      .prepare<(string | number)[], InstanceDbRow>(sql)
      .all(...params)
      .map(toInstance);
  }

  close(): void {
    this.flush();
    this.checkpointer?.postMessage('stop');
    this.checkpointer = undefined;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // another connection is busy: the next open replays the WAL
    }
    this.db.close();
  }
}
