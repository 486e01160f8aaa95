import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

// Durability for @vercel/cosmosdb-server, which keeps everything in memory.
//
// Every change the emulator makes to its item collections (databases, containers, documents, UDFs)
// goes through a handful of methods on one base class. We wrap them so each change is appended to a
// journal as the *resulting state* of one item (set or delete, with its _rid, _etag and _ts), written
// before the HTTP response leaves, and periodically fold the journal into a snapshot. Replaying
// absolute states is idempotent, which is what makes the snapshot/journal hand-over crash-safe.

/** The slice of the emulator's `Items` class that persistence relies on. */
interface ItemsLike<T extends ItemLike = ItemLike> {
  _parent: { read(): { _self?: string } | undefined };
  _data: Map<string, T>;
  _ridCount: number;
  _set(data: Record<string, unknown>): unknown;
  _getPartition(data: Record<string, unknown>): unknown;
  delete(idOrRid: string, partition?: unknown): void;
  constructor: { name: string };
}

interface ItemLike {
  read(): Record<string, unknown>;
}
interface AccountLike {
  databases: ItemsLike<DatabaseLike>;
}
interface DatabaseLike extends ItemLike {
  collections: ItemsLike<CollectionLike>;
}
interface CollectionLike extends ItemLike {
  documents: ItemsLike;
  userDefinedFunctions: ItemsLike;
}

type Entry =
  | { k: string; p: string; op: 'set'; d: Record<string, unknown>; n: number }
  | { k: string; p: string; op: 'del'; rid: string };

const JOURNALED_KINDS = new Set(['Databases', 'Collections', 'Documents', 'UserDefinedFunctions']);
const MUTATORS = ['create', 'replace', 'upsert', 'delete', '_set'] as const;

export interface JournalOptions {
  dir: string;
  /** Fold the journal into a snapshot after this many entries. */
  compactAfter?: number;
}

export class CosmosJournal {
  private account: AccountLike | undefined;
  private generation = 0;
  private fd: number | undefined;
  private pending: string[] = [];
  private depth = 0;
  private replaying = false;
  private entriesSinceSnapshot = 0;
  private readonly compactAfter: number;

  constructor(private readonly options: JournalOptions) {
    this.compactAfter = options.compactAfter ?? 20_000;
  }

  /** Wraps the emulator's mutators. Call once, before the server handles any request. */
  instrument(itemsPrototype: Record<string, unknown>): void {
    const journal = this;
    for (const method of MUTATORS) {
      const original = itemsPrototype[method] as (this: ItemsLike, ...args: unknown[]) => unknown;
      itemsPrototype[method] = function (this: ItemsLike, ...args: unknown[]) {
        journal.depth += 1;
        try {
          if (method === 'delete') journal.recordDelete(this, args[0] as string, args[1]);
          const result = original.apply(this, args);
          if (method === '_set') journal.recordSet(this, result as Record<string, unknown>);
          return result;
        } finally {
          journal.depth -= 1;
          // One write per top-level operation: a replace (delete + set) lands in the journal whole.
          if (journal.depth === 0) journal.flush();
        }
      };
    }
  }

  /** Loads the newest snapshot and the journal after it into the account, then opens the journal. */
  restore(account: AccountLike): { items: number } {
    this.account = account;
    const files = existsSync(this.options.dir) ? readdirSync(this.options.dir) : [];
    const generations = files
      .map((f) => /^snapshot-(\d+)\.jsonl$/.exec(f)?.[1])
      .filter((g): g is string => g !== undefined)
      .map(Number);
    this.generation = generations.length ? Math.max(...generations) : 0;
    let items = 0;
    let torn = false;
    this.replaying = true;
    try {
      for (const name of [`snapshot-${this.generation}.jsonl`, `journal-${this.generation}.jsonl`]) {
        const path = join(this.options.dir, name);
        if (!existsSync(path)) continue;
        for (const line of readFileSync(path, 'utf8').split('\n')) {
          if (!line) continue;
          let entry: Entry;
          try {
            entry = JSON.parse(line) as Entry;
          } catch {
            // A torn last line from a crash mid-write: everything before it is intact.
            torn = true;
            break;
          }
          this.apply(entry);
          items += 1;
        }
      }
    } finally {
      this.replaying = false;
    }
    this.removeOtherGenerations();
    this.fd = openSync(join(this.options.dir, `journal-${this.generation}.jsonl`), 'a');
    // Appending after a torn line would glue the next entry onto it; start a clean generation instead.
    if (torn) this.compact();
    return { items };
  }

  /** Writes the whole state as a new snapshot and starts an empty journal after it. */
  compact(): void {
    if (!this.account) return;
    const next = this.generation + 1;
    const tmp = join(this.options.dir, `snapshot-${next}.tmp`);
    const fd = openSync(tmp, 'w');
    try {
      const write = (items: ItemsLike<ItemLike>) => {
        for (const item of items._data.values()) {
          const entry: Entry = {
            k: items.constructor.name,
            p: parentSelf(items),
            op: 'set',
            d: item.read(),
            n: items._ridCount,
          };
          writeSync(fd, `${JSON.stringify(entry)}\n`);
        }
      };
      const { databases } = this.account;
      write(databases);
      for (const db of databases._data.values()) {
        write(db.collections);
        for (const coll of db.collections._data.values()) {
          write(coll.documents);
          write(coll.userDefinedFunctions);
        }
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.options.dir, `snapshot-${next}.jsonl`));
    if (this.fd !== undefined) closeSync(this.fd);
    this.generation = next;
    this.fd = openSync(join(this.options.dir, `journal-${next}.jsonl`), 'a');
    this.entriesSinceSnapshot = 0;
    this.removeOtherGenerations();
  }

  close(): void {
    this.compact();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private recordSet(items: ItemsLike, data: Record<string, unknown>): void {
    if (this.replaying || !JOURNALED_KINDS.has(items.constructor.name)) return;
    this.pending.push(
      JSON.stringify({ k: items.constructor.name, p: parentSelf(items), op: 'set', d: data, n: items._ridCount }),
    );
  }

  private recordDelete(items: ItemsLike, idOrRid: string, partition: unknown): void {
    if (this.replaying || !JOURNALED_KINDS.has(items.constructor.name)) return;
    const rid = (items as unknown as { _toRid(k: string, v: string, p: unknown): string })._toRid(
      '/id',
      idOrRid,
      partition,
    );
    if (!items._data.has(rid)) return;
    this.pending.push(JSON.stringify({ k: items.constructor.name, p: parentSelf(items), op: 'del', rid }));
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const lines = `${this.pending.join('\n')}\n`;
    this.entriesSinceSnapshot += this.pending.length;
    this.pending = [];
    if (this.fd === undefined) throw new Error('cosmos journal is not open');
    writeSync(this.fd, lines);
    if (this.entriesSinceSnapshot >= this.compactAfter) this.compact();
  }

  private apply(entry: Entry): void {
    const items = this.locate(entry.k, entry.p);
    if (!items) return; // its parent was deleted later in the same history
    if (entry.op === 'set') {
      items._set(entry.d);
      items._ridCount = Math.max(items._ridCount, entry.n);
    } else {
      const data = items._data.get(entry.rid)?.read();
      if (data) items.delete(data.id as string, items._getPartition(data));
    }
  }

  private locate(kind: string, parent: string): ItemsLike | undefined {
    const account = this.account;
    if (!account) return undefined;
    if (kind === 'Databases') return account.databases;
    const [, dbRid, , collRid] = /^\/?dbs\/([^/]+)(\/colls\/([^/]+))?\/?$/.exec(parent) ?? [];
    const db = dbRid ? account.databases._data.get(dbRid) : undefined;
    if (!db) return undefined;
    if (kind === 'Collections') return db.collections;
    const coll = collRid ? db.collections._data.get(collRid) : undefined;
    if (!coll) return undefined;
    return kind === 'Documents'
      ? coll.documents
      : kind === 'UserDefinedFunctions'
        ? coll.userDefinedFunctions
        : undefined;
  }

  private removeOtherGenerations(): void {
    for (const file of readdirSync(this.options.dir)) {
      const match = /^(snapshot|journal)-(\d+)\.(jsonl|tmp)$/.exec(file);
      if (match && Number(match[2]) !== this.generation) rmSync(join(this.options.dir, file), { force: true });
      if (match && match[3] === 'tmp') rmSync(join(this.options.dir, file), { force: true });
    }
  }
}

function parentSelf(items: ItemsLike): string {
  return items._parent.read()?._self ?? '';
}
