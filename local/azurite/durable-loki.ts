import { rename, writeFile } from 'node:fs/promises';
import { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

// Durability for Azurite's metadata (queues and their messages, blob and container properties, the
// extent index, tables). Azurite keeps these in LokiJS databases that it saves on a 5 s autosave timer, so
// a kill -9 lost every write of the last few seconds even though each had been acknowledged (issue 9:
// 71 of 102 queued submissions gone). Blob and message *contents* are written to extent files before the
// response already; only the metadata that points at them was late.
//
// Azurite runs in its own process (main.ts), so before loading it we patch two things there:
//   1. every file-backed Loki database gets a save adapter that writes `<file>~` and renames it over the
//      file (atomic: a crash leaves the old or the new snapshot, never half of one), in the order the
//      snapshots were taken, so Loki's own timer and our saves can never put an older one back;
//   2. an HTTP response does not end until every database that changed is saved: `ServerResponse.end` is
//      held while a database is dirty or a save is still being written, and released after the rename.
//      One round of saves is written at a time; responses that end meanwhile share the next round's
//      snapshot (group commit).
// So a write is on disk before its client sees the answer. What remains is in the README.

interface LokiDb {
  autosaveDirty(): boolean;
  saveDatabase(callback?: (err?: Error | null) => void): void;
  on(event: string, listener: () => void): void;
}

interface LokiStatic {
  new (...args: unknown[]): LokiDb;
  prototype: LokiDb & { configureOptions(this: LokiDb, options: unknown, initialConfig?: boolean): unknown };
  LokiFsAdapter: new () => {
    loadDatabase(dbname: string, callback: (data: unknown) => void): void;
  };
}

/** Loads `lokijs` the way Azurite does (from Azurite's own resolution path). */
function lokiFor(azuritePackageJson: string): LokiStatic {
  return createRequire(azuritePackageJson)('lokijs') as LokiStatic;
}

/**
 * Installs the patches. Call once, in Azurite's process, before Azurite is loaded. `onError` receives a
 * failed save (the response is still sent: its status line may already be out). Snapshots are whole, so
 * the next one, taken at the next change, writes the lost change again.
 */
export function makeLokiWritesDurable(options: { azuritePackageJson: string; onError?: (err: Error) => void }): void {
  const Loki = lokiFor(options.azuritePackageJson);
  const onError = options.onError ?? ((err) => process.stderr.write(`azurite durable save failed: ${err.message}\n`));

  /** Saves of one database file run one after another, in the order their snapshots were taken. */
  class OrderedFsAdapter extends Loki.LokiFsAdapter {
    private tail: Promise<void> = Promise.resolve();
    pending = 0;

    saveDatabase(dbname: string, dbstring: string, callback: (err: Error | null) => void): void {
      this.pending++;
      this.tail = this.tail
        .then(async () => {
          const tmp = `${dbname}~`;
          await writeFile(tmp, dbstring);
          await rename(tmp, dbname);
        })
        .then(
          () => settle(callback, null),
          (err: unknown) => settle(callback, err instanceof Error ? err : new Error(String(err))),
        )
        .finally(() => {
          this.pending--;
        });
    }

    idle(): Promise<void> {
      return this.tail;
    }
  }

  function settle(callback: (err: Error | null) => void, err: Error | null): void {
    try {
      callback(err);
    } catch (thrown) {
      // Loki's default callback rethrows a save error; it must not become an unhandled rejection.
      onError(thrown instanceof Error ? thrown : new Error(String(thrown)));
    }
  }

  const databases = new Map<LokiDb, OrderedFsAdapter>();
  const configure = Loki.prototype.configureOptions;
  Loki.prototype.configureOptions = function (this: LokiDb, opts: unknown, initialConfig?: boolean) {
    const o = opts as Record<string, unknown> | undefined;
    if (o && o.persistenceMethod === 'fs') {
      const adapter = new OrderedFsAdapter();
      const { persistenceMethod: _fs, ...rest } = o;
      databases.set(this, adapter);
      this.on('close', () => databases.delete(this));
      // throttledSaves off: every saveDatabase takes its snapshot now; the adapter orders the writes.
      return configure.call(this, { ...rest, adapter, throttledSaves: false }, initialConfig);
    }
    return configure.call(this, opts, initialConfig);
  };

  const needsWait = (): boolean => {
    for (const [db, adapter] of databases) if (adapter.pending > 0 || db.autosaveDirty()) return true;
    return false;
  };

  // Group commit: at most one round of saves is being written; responses that end meanwhile wait for the
  // next round, which snapshots every change made so far at once (one serialization per database per round,
  // however many requests it covers).
  let held: (() => void)[] = [];
  let flushQueued = false;
  let writing = false;
  const requestFlush = (): void => {
    if (flushQueued || writing) return;
    flushQueued = true;
    setImmediate(flush);
  };
  const flush = (): void => {
    flushQueued = false;
    const batch = held;
    held = [];
    writing = true;
    const writes: Promise<void>[] = [];
    for (const [db, adapter] of databases) {
      if (db.autosaveDirty()) db.saveDatabase((err) => err && onError(err));
      writes.push(adapter.idle());
    }
    void Promise.all(writes).finally(() => {
      writing = false;
      for (const release of batch) release();
      if (held.length > 0) requestFlush();
    });
  };

  const end = ServerResponse.prototype.end as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  ServerResponse.prototype.end = function (this: ServerResponse, ...args: unknown[]) {
    if (!needsWait()) return end.apply(this, args);
    held.push(() => end.apply(this, args));
    requestFlush();
    return this;
  } as typeof ServerResponse.prototype.end;
}
