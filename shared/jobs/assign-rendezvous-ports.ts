import type { NodeRecord } from '../domain/nodes.js';
import {
  assignBlocks,
  blockOfPort,
  isFull,
  portOfBlock,
  type RendezvousBlockTable,
} from '../domain/rendezvous-blocks.js';
import { nodeIdOf, splitNodeId } from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';

// The rendezvous-port blocks of nodes that share an address (decision 0063): a node without one gets one from the
// deployment's block table (pure rules in shared/domain/rendezvous-blocks.ts) and keeps it in its node record. The
// table is written first, the node record second: a crash in between leaves a block held by a node that does not
// use it (reused when that node asks again, freed with the node), never a block used by two nodes.

export class RendezvousBlocksExhausted extends Error {
  readonly code = 'RendezvousPortsExhausted';
}

/** The nodes, each with its `rendezvousPort` (assigned now if it had none). */
export async function assignRendezvousPorts(
  deps: Pick<JobRunDeps, 'nodes'>,
  nodes: readonly NodeRecord[],
): Promise<NodeRecord[]> {
  const need = nodes.filter((n) => n.rendezvousPort === undefined).map((n) => nodeIdOf(n.scaleSetName, n.instanceId));
  if (need.length === 0) return [...nodes];
  // Holders are checked only when every block is taken (thousands of nodes in the deployment's life): rare, and
  // the check is what lets blocks of deleted nodes be used again.
  const table = await deps.nodes.readRendezvousBlocks();
  const gone = isFull(table) ? await goneHolders(deps, table) : new Set<string>();
  const blocks = await deps.nodes.updateRendezvousBlocks((current) => {
    const assigned = assignBlocks(current, need, gone);
    if (!assigned.ok) return { result: undefined };
    return { ...(assigned.changed ? { table: assigned.table } : {}), result: assigned.blocks };
  });
  if (!blocks) {
    throw new RendezvousBlocksExhausted(
      `No block of rendezvous ports is free for ${need.length} node(s): every block is held by a live node.`,
    );
  }
  return Promise.all(
    nodes.map(async (n) => {
      if (n.rendezvousPort !== undefined) return n;
      const port = portOfBlock(blocks.get(nodeIdOf(n.scaleSetName, n.instanceId))!);
      const { node } = await deps.nodes.update(n.scaleSetName, n.instanceId, (current) =>
        current && current.rendezvousPort === undefined ? { ...current, rendezvousPort: port } : undefined,
      );
      // Someone else assigned it meanwhile (or the node is gone): what the record says is what the node uses.
      return { ...n, rendezvousPort: node?.rendezvousPort ?? port };
    }),
  );
}

/** Holders that no longer use their block: the node is gone, or its record holds another block. */
async function goneHolders(deps: Pick<JobRunDeps, 'nodes'>, table: RendezvousBlockTable): Promise<Set<string>> {
  const gone = new Set<string>();
  await Promise.all(
    Object.entries(table.holders).map(async ([block, nodeId]) => {
      const { scaleSetName, instanceId } = splitNodeId(nodeId);
      const node = await deps.nodes.get(scaleSetName, instanceId);
      if (!node) gone.add(nodeId);
      else if (node.rendezvousPort !== undefined && blockOfPort(node.rendezvousPort) !== Number(block)) {
        gone.add(nodeId);
      }
    }),
  );
  return gone;
}
