import type { NodeRecord } from '../domain/nodes.js';
import type { RendezvousBlockTable } from '../domain/rendezvous-blocks.js';

// The nodes of clusters and file servers: one record per node, grouped by scale set, so the agents of one
// cluster never contend on one document. Heartbeats are kept apart from the record (a blind upsert of a tiny
// document), so a heartbeat never conflicts with a state change.

export interface StoredNode extends NodeRecord {
  /** The last heartbeat (or registration) of the node's current boot, from its heartbeat document. */
  lastSeen?: string;
}

export interface NodeStore {
  /** Every node of one scale set, with its last heartbeat. */
  list(scaleSetName: string): Promise<StoredNode[]>;
  get(scaleSetName: string, instanceId: string): Promise<NodeRecord | undefined>;
  /**
   * Read-modify-write with If-Match, retried on conflict: `change` gets the current record (undefined when there
   * is none) and returns the new one, or undefined to leave things as they are. Returns what is stored after.
   */
  update(
    scaleSetName: string,
    instanceId: string,
    change: (current: NodeRecord | undefined) => NodeRecord | undefined,
  ): Promise<{ node: NodeRecord | undefined; changed: boolean }>;
  delete(scaleSetName: string, instanceId: string): Promise<void>;
  /**
   * Records a heartbeat of one boot: a blind upsert, never a conflict. Only the node's current boot's heartbeats
   * count in `lastSeen`, so a late heartbeat of a replaced boot cannot keep a silent node alive.
   */
  touch(scaleSetName: string, instanceId: string, at: string, bootId?: string): Promise<void>;
  /** The deployment's one table of rendezvous-port blocks (decision 0063); empty if never written. */
  readRendezvousBlocks(): Promise<RendezvousBlockTable>;
  /**
   * Read-modify-write of that table with If-Match, retried on conflict: `change` returns the new table (or
   * undefined to write nothing) and a result, from the attempt that was written.
   */
  updateRendezvousBlocks<R>(
    change: (current: RendezvousBlockTable) => { table?: RendezvousBlockTable; result: R },
  ): Promise<R>;
}
