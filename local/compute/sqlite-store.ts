// ComputeStore on SQLite (better-sqlite3, WAL): synchronous and transactional, so a write is durable before the
// HTTP answer that acknowledges it, and a crash at any point leaves whole records.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ComputeStore, InstanceRecord, OperationRecord, OutboxEntry, ScaleSetRecord } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS scale_sets (key TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS instances (
  scale_set TEXT NOT NULL, instance_id INTEGER NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (scale_set, instance_id)
);
CREATE TABLE IF NOT EXISTS operations (id TEXT PRIMARY KEY, status TEXT NOT NULL, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS operations_status ON operations (status);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL, event_type TEXT NOT NULL, subject TEXT NOT NULL, payload TEXT NOT NULL,
  enqueued_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
  published_at INTEGER, last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (published_at, next_attempt_at);
`;

/** Published events kept for diagnostics (GET /admin/events) before the oldest are dropped. */
const PUBLISHED_KEPT = 5000;

interface OutboxRow {
  seq: number;
  event_id: string;
  event_type: string;
  subject: string;
  payload: string;
  enqueued_at: number;
  attempts: number;
  published_at: number | null;
  last_error: string | null;
}

const toEntry = (r: OutboxRow): OutboxEntry => ({
  seq: r.seq,
  eventId: r.event_id,
  eventType: r.event_type,
  subject: r.subject,
  payload: r.payload,
  enqueuedAt: r.enqueued_at,
  attempts: r.attempts,
  publishedAt: r.published_at,
  lastError: r.last_error,
});

export class SqliteComputeStore implements ComputeStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'compute.sqlite'));
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash (only an OS crash can lose the last commits).
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
  }

  getScaleSet(key: string): ScaleSetRecord | undefined {
    const row = this.db.prepare('SELECT record FROM scale_sets WHERE key = ?').get(key) as
      | { record: string }
      | undefined;
    return row ? (JSON.parse(row.record) as ScaleSetRecord) : undefined;
  }

  listScaleSets(): ScaleSetRecord[] {
    const rows = this.db.prepare('SELECT record FROM scale_sets ORDER BY key').all() as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as ScaleSetRecord);
  }

  putScaleSet(record: ScaleSetRecord): void {
    this.db
      .prepare(
        'INSERT INTO scale_sets (key, record) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET record = excluded.record',
      )
      .run(record.key, JSON.stringify(record));
  }

  deleteScaleSet(key: string): void {
    this.transaction(() => {
      this.db.prepare('DELETE FROM instances WHERE scale_set = ?').run(key);
      this.db.prepare('DELETE FROM scale_sets WHERE key = ?').run(key);
    });
  }

  listInstances(scaleSetKey: string): InstanceRecord[] {
    const rows = this.db
      .prepare('SELECT record FROM instances WHERE scale_set = ? ORDER BY instance_id')
      .all(scaleSetKey) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as InstanceRecord);
  }

  listAllInstances(): InstanceRecord[] {
    const rows = this.db.prepare('SELECT record FROM instances ORDER BY scale_set, instance_id').all() as {
      record: string;
    }[];
    return rows.map((r) => JSON.parse(r.record) as InstanceRecord);
  }

  getInstance(scaleSetKey: string, instanceId: number): InstanceRecord | undefined {
    const row = this.db
      .prepare('SELECT record FROM instances WHERE scale_set = ? AND instance_id = ?')
      .get(scaleSetKey, instanceId) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as InstanceRecord) : undefined;
  }

  putInstance(record: InstanceRecord): void {
    this.db
      .prepare(
        'INSERT INTO instances (scale_set, instance_id, record) VALUES (?, ?, ?) ' +
          'ON CONFLICT(scale_set, instance_id) DO UPDATE SET record = excluded.record',
      )
      .run(record.scaleSetKey, record.instanceId, JSON.stringify(record));
  }

  deleteInstance(scaleSetKey: string, instanceId: number): void {
    this.db.prepare('DELETE FROM instances WHERE scale_set = ? AND instance_id = ?').run(scaleSetKey, instanceId);
  }

  getOperation(id: string): OperationRecord | undefined {
    const row = this.db.prepare('SELECT record FROM operations WHERE id = ?').get(id) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as OperationRecord) : undefined;
  }

  putOperation(record: OperationRecord): void {
    this.db
      .prepare(
        'INSERT INTO operations (id, status, record) VALUES (?, ?, ?) ' +
          'ON CONFLICT(id) DO UPDATE SET status = excluded.status, record = excluded.record',
      )
      .run(record.id, record.status, JSON.stringify(record));
  }

  operationsInProgress(): OperationRecord[] {
    const rows = this.db.prepare("SELECT record FROM operations WHERE status = 'InProgress' ORDER BY rowid").all() as {
      record: string;
    }[];
    return rows.map((r) => JSON.parse(r.record) as OperationRecord);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  enqueueEvents(events: { id: string; eventType: string; subject: string; payload: string }[], now: number): void {
    const insert = this.db.prepare(
      'INSERT INTO outbox (event_id, event_type, subject, payload, enqueued_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.transaction(() => {
      for (const e of events) insert.run(e.id, e.eventType, e.subject, e.payload, now, now);
    });
  }

  duePublications(now: number, limit: number): OutboxEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM outbox WHERE published_at IS NULL AND next_attempt_at <= ? ORDER BY seq LIMIT ?')
      .all(now, limit) as OutboxRow[];
    return rows.map(toEntry);
  }

  markPublished(seqs: number[], now: number): void {
    const update = this.db.prepare('UPDATE outbox SET published_at = ?, attempts = attempts + 1 WHERE seq = ?');
    this.transaction(() => {
      for (const seq of seqs) update.run(now, seq);
      this.db
        .prepare(
          'DELETE FROM outbox WHERE published_at IS NOT NULL AND seq NOT IN ' +
            '(SELECT seq FROM outbox WHERE published_at IS NOT NULL ORDER BY seq DESC LIMIT ?)',
        )
        .run(PUBLISHED_KEPT);
    });
  }

  markPublishFailed(seqs: number[], nextAttemptAt: number, error: string): void {
    const update = this.db.prepare(
      'UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE seq = ?',
    );
    this.transaction(() => {
      for (const seq of seqs) update.run(nextAttemptAt, error, seq);
    });
  }

  recentEvents(limit: number): OutboxEntry[] {
    const rows = this.db.prepare('SELECT * FROM outbox ORDER BY seq DESC LIMIT ?').all(limit) as OutboxRow[];
    return rows.map(toEntry).reverse();
  }

  close(): void {
    this.db.close();
  }
}
