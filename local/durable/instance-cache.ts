// What the backend keeps in memory between episodes: committed instance rows and each instance's history
// as JSON text. This process is the store's only writer, so the copies are exact; both maps are LRU-bounded
// and a miss reads the store.

import type { InstanceRow, SqliteDurableStore } from './sqlite-store.js';

export interface CachedHistory {
  executionId: string;
  /**
   * The stored history rows (one per episode: its events' JSON joined by ',', IsPlayed already true). Kept
   * as separate immutable strings, not one growing string, so old chunks settle in the old generation and
   * are not copied by every scavenge.
   */
  chunks: string[];
}

export class InstanceCache {
  private readonly rows = new Map<string, InstanceRow>();
  private readonly histories = new Map<string, CachedHistory>();

  constructor(
    private readonly store: SqliteDurableStore,
    private readonly capacity = 10_000,
  ) {}

  /** The committed row of an instance (undefined when it does not exist). */
  row(instanceId: string): InstanceRow | undefined {
    const hit = this.rows.get(instanceId);
    if (hit) return hit;
    const row = this.store.getInstance(instanceId);
    if (row) this.setRow(row);
    return row;
  }

  setRow(row: InstanceRow): void {
    this.rows.delete(row.instanceId);
    this.rows.set(row.instanceId, row);
    evictOldest(this.rows, this.capacity);
  }

  /** Forgets an instance (purged, or replaced by a new instance under the same id). */
  drop(instanceId: string): void {
    this.rows.delete(instanceId);
    this.histories.delete(instanceId);
  }

  /** The history of the row's current execution; read from the store on a miss or a stale entry. */
  history(row: InstanceRow): CachedHistory {
    const hit = this.histories.get(row.instanceId);
    if (hit && hit.executionId === row.executionId) {
      this.histories.delete(row.instanceId);
      this.histories.set(row.instanceId, hit);
      return hit;
    }
    const h: CachedHistory = { executionId: row.executionId, chunks: this.store.historyChunks(row.instanceId) };
    this.histories.set(row.instanceId, h);
    evictOldest(this.histories, this.capacity);
    return h;
  }

  /** A new execution starts with an empty history. */
  startHistory(instanceId: string, executionId: string): void {
    this.histories.set(instanceId, { executionId, chunks: [] });
  }

  /** A finished instance needs no history in memory. */
  dropHistory(instanceId: string): void {
    this.histories.delete(instanceId);
  }
}

function evictOldest<K, V>(map: Map<K, V>, capacity: number): void {
  if (map.size <= capacity) return;
  const oldest = map.keys().next().value;
  if (oldest !== undefined) map.delete(oldest);
}
