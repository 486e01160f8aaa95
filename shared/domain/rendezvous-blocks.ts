import { RENDEZVOUS_PORTS_PER_NODE } from './launch-plans/types.js';

// Blocks of rendezvous ports for nodes that share an address (every local node is 127.0.0.1; decision 0063). The
// deployment keeps one table of blocks, `block index → node id`; a node gets a block the first time it is
// launched on and keeps it (in its node record) for as long as it exists. A block is given to a node only if no
// one holds it, or if its holder is known to be gone, so no two live nodes ever hold the same block: collision-free
// by construction, whatever ports the VMs were given for remote login.

export const RENDEZVOUS_FIRST_PORT = 20_000;
/** Blocks 0…1999: ports 20000…51999, clear of the well-known ports and of Linux's default ephemeral range start. */
export const RENDEZVOUS_BLOCKS = 2_000;

export interface RendezvousBlockTable {
  /** Block index (as a string key) → the node id holding it. */
  holders: Record<string, string>;
}

export const emptyBlockTable = (): RendezvousBlockTable => ({ holders: {} });

export const portOfBlock = (block: number): number => RENDEZVOUS_FIRST_PORT + block * RENDEZVOUS_PORTS_PER_NODE;

/** The block a port starts, or undefined when it is not the first port of one. */
export function blockOfPort(port: number): number | undefined {
  const offset = port - RENDEZVOUS_FIRST_PORT;
  if (offset < 0 || offset % RENDEZVOUS_PORTS_PER_NODE !== 0) return undefined;
  const block = offset / RENDEZVOUS_PORTS_PER_NODE;
  return block < RENDEZVOUS_BLOCKS ? block : undefined;
}

export type BlockAssignment =
  | { ok: true; table: RendezvousBlockTable; blocks: Map<string, number>; changed: boolean }
  | { ok: false; needed: number };

/**
 * Gives each of `nodeIds` a block: the one it already holds (a retried assignment), else the lowest block nobody
 * holds, else the lowest one whose holder is in `gone` (checked by the caller: the node no longer exists, or holds
 * another block). Fails, changing nothing, when there are not enough blocks.
 */
export function assignBlocks(
  table: RendezvousBlockTable,
  nodeIds: readonly string[],
  gone: ReadonlySet<string> = new Set(),
): BlockAssignment {
  const holders = { ...table.holders };
  const held = new Map<string, number>();
  for (const [block, nodeId] of Object.entries(holders)) held.set(nodeId, Number(block));
  const blocks = new Map<string, number>();
  let changed = false;
  let next = 0;
  for (const nodeId of new Set(nodeIds)) {
    const mine = held.get(nodeId);
    if (mine !== undefined) {
      blocks.set(nodeId, mine);
      continue;
    }
    while (next < RENDEZVOUS_BLOCKS && holders[String(next)] !== undefined) next++;
    let block = next;
    if (block >= RENDEZVOUS_BLOCKS) {
      const reclaimable = Object.entries(holders).find(([, holder]) => gone.has(holder));
      if (!reclaimable) return { ok: false, needed: nodeIds.length };
      block = Number(reclaimable[0]);
    }
    holders[String(block)] = nodeId;
    held.set(nodeId, block);
    blocks.set(nodeId, block);
    changed = true;
  }
  return { ok: true, table: { holders }, blocks, changed };
}

/** The table is full: the holders worth checking (the caller asks whether each still exists with its block). */
export function isFull(table: RendezvousBlockTable): boolean {
  return Object.keys(table.holders).length >= RENDEZVOUS_BLOCKS;
}
