import type { Lifecycles } from '../api/api-deps.js';
import type { AgentEvent } from '../domain/agent-protocol.js';
import { scaleSetNameFor } from '../domain/agent-protocol.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import type { FileServerRecord } from '../domain/file-server-view.js';
import { nextNodeRecord } from '../domain/node-events.js';
import { type NodeRecord, withNodeState } from '../domain/nodes.js';
import { parseBatchAiResourceId } from '../domain/resource-id.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { NodeStore } from '../stores/node-store.js';
import type { ResourceStore } from '../stores/resource-store.js';
import type { NodeCommands } from './node-commands.js';
import { type MountEndpoints, resolveNodeSetup, SetupResolutionError } from './resolve-node-setup.js';

// Agent events → node records, commands and lifecycle signals. Every event is applied at most once per
// (bootId, seq): a redelivered or late event changes nothing; events of a boot that was replaced are ignored.
// Only heartbeats skip the record (a blind upsert of the node's heartbeat document), so they stay cheap.

export interface AgentEventDeps {
  store: Pick<ResourceStore, 'get'>;
  nodes: NodeStore;
  secrets: SecretBox;
  endpoints: MountEndpoints;
  commands: NodeCommands;
  lifecycles: Pick<Lifecycles, 'computeChanged'>;
  now(): Date;
}

export type AgentEventOutcome =
  | { outcome: 'applied'; node: NodeRecord }
  | { outcome: 'heartbeat' }
  /** A task's event: its job's business (the caller passes exits on), nothing of the node's. */
  | { outcome: 'task' }
  | { outcome: 'ignored'; reason: string };

interface Owner {
  kind: 'cluster' | 'fileServer';
  uid: string;
  record: ClusterRecord | FileServerRecord;
}

async function ownerOf(deps: Pick<AgentEventDeps, 'store'>, event: AgentEvent): Promise<Owner | string> {
  const parsed = parseBatchAiResourceId(event.node.resourceId);
  if (!parsed.ok || (parsed.value.kind !== 'cluster' && parsed.value.kind !== 'fileServer')) {
    return `'${event.node.resourceId}' is not a cluster or file server id`;
  }
  const stored = await deps.store.get(parsed.value);
  if (!stored) return `${event.node.resourceId} does not exist (deleted)`;
  const kind = parsed.value.kind;
  const record = stored.record as unknown as ClusterRecord | FileServerRecord;
  const uid = record.uid;
  if (!uid || scaleSetNameFor(kind, uid) !== event.node.scaleSetName) {
    return `scale set ${event.node.scaleSetName} belongs to an earlier ${kind} of this name`;
  }
  if (record.provisioningState === 'deleting') return `${event.node.resourceId} is being deleted`;
  return { kind, uid, record };
}

export async function applyAgentEvent(deps: AgentEventDeps, event: AgentEvent): Promise<AgentEventOutcome> {
  const { scaleSetName, instanceId, bootId } = event.node;
  // Task events change nothing about the node (the scheduling document says who holds it): not even a read here,
  // since they come two per job and every job's turnover waits behind its exit's handling.
  if (event.kind === 'taskStarted' || event.kind === 'taskExited' || event.kind === 'unstaged') {
    return { outcome: 'task' };
  }
  if (event.kind === 'heartbeat') {
    await deps.nodes.touch(scaleSetName, instanceId, deps.now().toISOString(), bootId);
    return { outcome: 'heartbeat' };
  }
  const owner = await ownerOf(deps, event);
  if (typeof owner === 'string') return { outcome: 'ignored', reason: owner };
  const now = deps.now().toISOString();

  let ignored: string | undefined;
  const { node, changed } = await deps.nodes.update(scaleSetName, instanceId, (current) => {
    const decision = nextNodeRecord(current, event, owner.kind, now);
    ignored = decision.ignored;
    return decision.next;
  });

  // A setup is (re)sent whenever this boot still waits for it, so a send that failed after the record was written
  // is repeated when the event is redelivered; the agent runs a command id once.
  await Promise.all([
    event.kind === 'registered' ? deps.nodes.touch(scaleSetName, instanceId, now, bootId) : undefined,
    node && owner.kind === 'cluster' && node.bootId === bootId && node.state === 'preparing' && node.setupId
      ? sendSetup(deps, owner.record as ClusterRecord, node)
      : undefined,
  ]);
  if (!changed) return { outcome: 'ignored', reason: ignored ?? 'nothing changed' };
  if (decides(owner, node!)) {
    await deps.lifecycles.computeChanged({
      kind: owner.kind,
      resourceId: event.node.resourceId,
      uid: owner.uid,
      operationId: (owner.record as { operationId?: string }).operationId ?? '',
      reason: `node ${instanceId} ${event.kind}`,
    });
  }
  return { outcome: 'applied', node: node! };
}

/**
 * Whether the lifecycle must hear of this node's new state: a file server's node coming up, a node lost or
 * failed (replace it, show the error), leaving, or idle on an autoscaled cluster (its grace period starts).
 * A node merely registering or becoming idle on a fixed-size cluster changes no decision (counts are read from
 * the node records), so 32 nodes booting do not cost 64 reconcile passes.
 */
function decides(owner: Owner, node: NodeRecord): boolean {
  if (owner.kind === 'fileServer') return true;
  if (node.state === 'unusable' || node.state === 'leaving') return true;
  return node.state === 'idle' && (owner.record as ClusterRecord).properties.scaleSettings.autoScale !== undefined;
}

async function sendSetup(deps: AgentEventDeps, cluster: ClusterRecord, node: NodeRecord): Promise<void> {
  try {
    const command = await resolveNodeSetup(deps, cluster, {
      bootId: node.bootId!,
      publicKey: node.publicKey!,
      setupId: node.setupId!,
    });
    await deps.commands.send(node.scaleSetName, node.instanceId, command);
  } catch (err) {
    if (!(err instanceof SetupResolutionError)) throw err;
    // The setup cannot even be described (e.g. a file server that is not there): the node fails setup, as a
    // failing mount would, and says why.
    const now = deps.now().toISOString();
    await deps.nodes.update(node.scaleSetName, node.instanceId, (current) =>
      current && current.bootId === node.bootId && current.state === 'preparing'
        ? withNodeState(current, 'unusable', now, {
            error: { code: err.code, message: err.message },
            unusableReason: 'setupFailed',
          })
        : undefined,
    );
  }
}
