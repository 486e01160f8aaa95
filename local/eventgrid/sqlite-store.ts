// EventGridStore on SQLite (better-sqlite3, WAL): synchronous, transactional and crash-safe for a single
// writer process, which is what the emulator is.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { BlobVersion } from './blob-events.js';
import type { BlobCommit, EventGridStore, NewDelivery, OutboxEntry } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS blobs (
  container TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
  PRIMARY KEY (container, name)
);
CREATE TABLE IF NOT EXISTS containers (container TEXT PRIMARY KEY, baselined_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subscription TEXT NOT NULL, event_id TEXT NOT NULL, payload TEXT NOT NULL, data_version TEXT NOT NULL,
  enqueued_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
  last_status INTEGER, last_error TEXT, last_attempt_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at);
CREATE TABLE IF NOT EXISTS validations (subscription TEXT PRIMARY KEY, endpoint_key TEXT NOT NULL, validated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

interface OutboxRow {
  id: number;
  subscription: string;
  event_id: string;
  payload: string;
  data_version: string;
  enqueued_at: number;
  attempts: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: number | null;
}

function toEntry(r: OutboxRow): OutboxEntry {
  return {
    id: r.id,
    subscription: r.subscription,
    eventId: r.event_id,
    payload: r.payload,
    dataVersion: r.data_version,
    enqueuedAt: r.enqueued_at,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastStatus: r.last_status,
    lastError: r.last_error,
    lastAttemptAt: r.last_attempt_at,
  };
}

export class SqliteEventGridStore implements EventGridStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'eventgrid.sqlite'));
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash (only an OS crash can lose the last commits).
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
  }

  isBaselined(container: string): boolean {
    return this.db.prepare('SELECT 1 FROM containers WHERE container = ?').get(container) !== undefined;
  }

  loadBlobs(container: string): Map<string, BlobVersion> {
    const rows = this.db.prepare('SELECT version FROM blobs WHERE container = ?').all(container) as {
      version: string;
    }[];
    const map = new Map<string, BlobVersion>();
    for (const r of rows) {
      const v = JSON.parse(r.version) as BlobVersion;
      map.set(v.name, v);
    }
    return map;
  }

  commitBaseline(container: string, blobs: BlobVersion[]): void {
    this.db.transaction(() => {
      this.upsertBlobs(container, blobs);
      this.db
        .prepare('INSERT OR REPLACE INTO containers (container, baselined_at) VALUES (?, ?)')
        .run(container, Date.now());
    })();
  }

  commitBlobChanges(commit: BlobCommit, now: number): void {
    this.db.transaction(() => {
      this.upsertBlobs(commit.container, commit.upserts);
      const del = this.db.prepare('DELETE FROM blobs WHERE container = ? AND name = ?');
      for (const name of commit.deletes) del.run(commit.container, name);
      this.insertDeliveries(commit.deliveries, now);
    })();
  }

  allocateSequencers(count: number): number {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT value FROM counters WHERE name = 'sequencer'").get() as
        | { value: number }
        | undefined;
      const first = (row?.value ?? 0) + 1;
      this.db.prepare("INSERT OR REPLACE INTO counters (name, value) VALUES ('sequencer', ?)").run(first + count - 1);
      return first;
    })();
  }

  enqueue(deliveries: NewDelivery[], now: number): void {
    this.db.transaction(() => this.insertDeliveries(deliveries, now))();
  }

  dueEntries(now: number, subscriptions: readonly string[], exclude: readonly number[], limit: number): OutboxEntry[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM outbox WHERE next_attempt_at <= ?
           AND subscription IN (SELECT value FROM json_each(?))
           AND id NOT IN (SELECT value FROM json_each(?))
         ORDER BY next_attempt_at, id LIMIT ?`,
      )
      .all(now, JSON.stringify(subscriptions), JSON.stringify(exclude), limit) as OutboxRow[];
    return rows.map(toEntry);
  }

  nextDueAt(subscriptions: readonly string[], exclude: readonly number[]): number | undefined {
    const row = this.db
      .prepare(
        `SELECT MIN(next_attempt_at) AS t FROM outbox
         WHERE subscription IN (SELECT value FROM json_each(?)) AND id NOT IN (SELECT value FROM json_each(?))`,
      )
      .get(JSON.stringify(subscriptions), JSON.stringify(exclude)) as { t: number | null };
    return row.t ?? undefined;
  }

  recordFailure(
    id: number,
    u: { attempts: number; nextAttemptAt: number; status: number | null; error: string | null; at: number },
  ): void {
    this.db
      .prepare(
        'UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?, last_attempt_at = ? WHERE id = ?',
      )
      .run(u.attempts, u.nextAttemptAt, u.status, u.error, u.at, id);
  }

  remove(id: number): void {
    this.db.prepare('DELETE FROM outbox WHERE id = ?').run(id);
  }

  entriesEnqueuedBefore(subscription: string, before: number, exclude: readonly number[]): OutboxEntry[] {
    const rows = this.db
      .prepare(
        'SELECT * FROM outbox WHERE subscription = ? AND enqueued_at < ? AND id NOT IN (SELECT value FROM json_each(?)) LIMIT 1000',
      )
      .all(subscription, before, JSON.stringify(exclude)) as OutboxRow[];
    return rows.map(toEntry);
  }

  pendingCount(subscription: string): number {
    const row = this.db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE subscription = ?').get(subscription) as {
      n: number;
    };
    return row.n;
  }

  validatedKey(subscription: string): string | undefined {
    const row = this.db.prepare('SELECT endpoint_key FROM validations WHERE subscription = ?').get(subscription) as
      | { endpoint_key: string }
      | undefined;
    return row?.endpoint_key;
  }

  markValidated(subscription: string, key: string, now: number): void {
    this.db
      .prepare('INSERT OR REPLACE INTO validations (subscription, endpoint_key, validated_at) VALUES (?, ?, ?)')
      .run(subscription, key, now);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private upsertBlobs(container: string, blobs: BlobVersion[]): void {
    const up = this.db.prepare('INSERT OR REPLACE INTO blobs (container, name, version) VALUES (?, ?, ?)');
    for (const b of blobs) up.run(container, b.name, JSON.stringify(b));
  }

  private insertDeliveries(deliveries: NewDelivery[], now: number): void {
    const ins = this.db.prepare(
      'INSERT INTO outbox (subscription, event_id, payload, data_version, enqueued_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const d of deliveries) ins.run(d.subscription, d.eventId, d.payload, d.dataVersion, now, now);
  }
}
