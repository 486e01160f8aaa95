import type { BatchAiError, NodeStateCounts } from './resource-states.js';

// A node is one scale-set instance of a cluster (or the one VM of a file server), as the app knows it: one
// document per node, written by the agent-event handler (registration, setup outcome) and by the resource's
// lifecycle (leaving, lost). Node states are Batch AI's nodeStateCounts buckets.

export const NODE_STATES = ['preparing', 'idle', 'running', 'unusable', 'leaving'] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** Why a node is unusable: a lost node is replaced; a node whose setup failed is kept (it would fail again). */
export type UnusableReason = 'setupFailed' | 'lost';

export interface NodeRecord {
  /** The scale set (one per cluster or file server): the documents' partition. */
  scaleSetName: string;
  instanceId: string;
  /** ARM id of the cluster or file server. */
  resourceId: string;
  state: NodeState;
  stateSince: string;
  createdAt: string;
  /** The current boot (set at registration); events of any other boot are stale. */
  vmId?: string;
  bootId?: string;
  /** Boots this node had before the current one (bounded), so a late `registered` of an old boot is ignored. */
  pastBootIds?: string[];
  /** When the current boot started (the agent's clock at its registration): older VM events were about a past boot. */
  bootAt?: string;
  /** Time of the newest VM event (Event Grid) applied to this node: an older one arriving later changes nothing. */
  vmEventAt?: string;
  /** Highest event sequence number applied for the current boot (idempotency of redelivered events). */
  lastSeq?: number;
  ipAddress?: string;
  port?: number;
  /** The boot's X25519 public key: what the node's secrets are sealed for. */
  publicKey?: string;
  vmSize?: string;
  cores?: number;
  gpus?: number;
  /** The setup sent to the current boot. */
  setupId?: string;
  unusableReason?: UnusableReason;
  /**
   * What the platform said took a lost node away (a VM annotation such as `VirtualMachinePreempted`, or `Preempt`):
   * carried to the job it ran, whose attempt is then counted by kind (docs/decisions/0105).
   */
  lostBecause?: string;
  error?: BatchAiError;
  /** When the node last became idle: autoscale removes only nodes idle longer than the grace period. */
  idleSince?: string;
  /**
   * When this boot's agent said it was stopping (a graceful shutdown or restart keeps the node): whatever ran on it
   * is gone, and it takes no job until its next boot registers (which clears this).
   */
  stoppingSince?: string;
  /**
   * The cluster wants this running node gone (a resize down, nodeDeallocationOption): when its job gives it back it
   * becomes `leaving`, never `idle`, so no other job is scheduled on it. Holds only while the node is running.
   */
  releaseRequested?: true;
  /**
   * First of the node's block of rendezvous ports, for nodes that share an address (locally, 127.0.0.1): allocated
   * once per node from the deployment-wide block table, so no two live nodes ever hold the same block (decision 0063).
   */
  rendezvousPort?: number;
}

export function countNodeStates(nodes: readonly Pick<NodeRecord, 'state'>[]): NodeStateCounts {
  const counts: NodeStateCounts = {
    idleNodeCount: 0,
    runningNodeCount: 0,
    preparingNodeCount: 0,
    unusableNodeCount: 0,
    leavingNodeCount: 0,
  };
  for (const node of nodes) counts[`${node.state}NodeCount`] += 1;
  return counts;
}

/** A node entering `state` at `now`: timestamps and the fields that only hold in some states. */
export function withNodeState(
  node: NodeRecord,
  state: NodeState,
  now: string,
  extra: { error?: BatchAiError; unusableReason?: UnusableReason; lostBecause?: string } = {},
): NodeRecord {
  if (node.state === state && extra.error === undefined) return node;
  const { error: _e, unusableReason: _u, idleSince: _i, lostBecause: _l, releaseRequested, ...rest } = node;
  return {
    ...rest,
    state,
    stateSince: now,
    ...(state === 'idle' ? { idleSince: now } : {}),
    ...(state === 'running' && releaseRequested ? { releaseRequested } : {}),
    ...(state === 'unusable' ? { unusableReason: extra.unusableReason ?? 'lost' } : {}),
    ...(extra.error ? { error: extra.error } : {}),
    ...(state === 'unusable' && extra.lostBecause ? { lostBecause: extra.lostBecause } : {}),
  };
}

/** Bounded list of previous boots, newest first. */
export function rememberBoot(past: readonly string[] | undefined, bootId: string | undefined): string[] {
  if (!bootId) return [...(past ?? [])];
  return [bootId, ...(past ?? []).filter((b) => b !== bootId)].slice(0, 8);
}
