import type { Lifecycles } from '../api/api-deps.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import type { NodeRecord } from '../domain/nodes.js';
import { parseBatchAiResourceId } from '../domain/resource-id.js';
import { type GridEvent, nextNodeOnVmSignal, type VmSignal, vmEventMeaning } from '../domain/vm-events.js';
import type { NodeStore } from '../stores/node-store.js';
import type { ResourceStore } from '../stores/resource-store.js';

// VM events (Event Grid: Resource Notifications health and scheduled events, ARM action/delete results) → node
// records. The meaning of each shape and the idempotency rules are pure (shared/domain/vm-events.ts); here they are
// applied under If-Match, and a node that is lost or rebooted is reported to its lifecycle, which replaces it and
// (for a cluster) wakes the scheduler so the job on it is requeued without waiting for missed heartbeats.
// Nothing here throws for an event we cannot use: an unknown VM is an answer ("ignored"), never a retry loop.

export type VmEventOutcome = {
  instanceId: string;
  scaleSetName: string;
  outcome: 'applied' | 'ignored';
  reason: string;
  state?: NodeRecord['state'];
};

export interface VmEventDeps {
  nodes: NodeStore;
  store: Pick<ResourceStore, 'get'>;
  lifecycles: Pick<Lifecycles, 'computeChanged'>;
  now(): Date;
}

export async function applyVmEvent(
  deps: VmEventDeps,
  event: GridEvent,
): Promise<{ ignored: string } | { nodes: VmEventOutcome[] }> {
  const meaning = vmEventMeaning(event);
  if ('ignored' in meaning) return meaning;
  // One event names one VM, except a scheduled event that may name several (each node is its own document).
  return { nodes: await Promise.all(meaning.signals.map((signal) => applySignal(deps, signal))) };
}

async function applySignal(deps: VmEventDeps, signal: VmSignal): Promise<VmEventOutcome> {
  const now = deps.now().toISOString();
  const { scaleSetName, instanceId } = signal;
  let ignored: string | undefined;
  let notify = false;
  const { node, changed } = await deps.nodes.update(scaleSetName, instanceId, (current) => {
    const decision = nextNodeOnVmSignal(current, signal, now);
    ignored = decision.ignored;
    notify = decision.notify === true;
    return decision.next;
  });
  if (!changed || !node) {
    return { scaleSetName, instanceId, outcome: 'ignored', reason: ignored ?? 'nothing changed' };
  }
  if (notify) await tellLifecycle(deps, node, `node ${instanceId}: ${signal.reason}`);
  return { scaleSetName, instanceId, outcome: 'applied', reason: signal.reason, state: node.state };
}

async function tellLifecycle(deps: VmEventDeps, node: NodeRecord, reason: string): Promise<void> {
  const parsed = parseBatchAiResourceId(node.resourceId);
  if (!parsed.ok || (parsed.value.kind !== 'cluster' && parsed.value.kind !== 'fileServer')) return;
  const stored = await deps.store.get(parsed.value);
  const record = stored?.record as unknown as (ClusterRecord & { operationId?: string }) | undefined;
  if (!record?.uid) return;
  await deps.lifecycles.computeChanged({
    kind: parsed.value.kind,
    resourceId: node.resourceId,
    uid: record.uid,
    operationId: record.operationId ?? '',
    reason,
  });
}
