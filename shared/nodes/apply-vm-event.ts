import type { Lifecycles } from '../api/api-deps.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import { withNodeState } from '../domain/nodes.js';
import { parseBatchAiResourceId } from '../domain/resource-id.js';
import type { NodeStore } from '../stores/node-store.js';
import type { ResourceStore } from '../stores/resource-store.js';

// VM health events (Event Grid, Azure Resource Notifications) → lost nodes. A VM the platform took away (Spot
// eviction, host crash, made unavailable) is marked unusable/lost at once, and its lifecycle is told, so it is
// deleted and replaced without waiting for missed heartbeats.

/** Annotations that mean the VM, and whatever ran on it, is gone. */
const LOSS_ANNOTATIONS = new Set([
  'virtualmachinepreempted',
  'virtualmachinehostcrashed',
  'virtualmachinehostrebootedforrepair',
  'virtualmachinemigrationinitiatedforrepair',
  'virtualmachinestorageoffline',
  'virtualmachinepossiblydegradedduetohardwarefailure',
  'virtualmachineprovisioningtimedout',
]);

export interface VmEvent {
  eventType: string;
  subject: string;
  data: unknown;
}

export interface VmLoss {
  scaleSetName: string;
  instanceId: string;
  reason: string;
  /** The annotation that names the cause (VirtualMachinePreempted, …HostCrashed); absent for a bare Unavailable. */
  cause?: string;
}

/** The node a health event reports lost, or undefined when the event says nothing of the kind. */
export function lostNodeOf(event: VmEvent): VmLoss | undefined {
  const properties = (event.data as { resourceInfo?: { properties?: Record<string, unknown> } } | undefined)
    ?.resourceInfo?.properties;
  // The Preempt scheduled event comes before the Spot VM is stopped: recording the node lost (with its cause) then
  // means the loss of its job is counted as a preemption (docs/decisions/0105), whatever arrives next. Only the
  // first listed VM is taken (the emulator lists one per event).
  if (event.eventType.endsWith('MaintenanceResources.ScheduledEventEmitted')) {
    const scaleSet = /\/virtualMachineScaleSets\/([^/]+)$/i.exec(event.subject)?.[1];
    const vm = (properties?.['Resources'] as unknown[] | undefined)?.[0];
    if (properties?.['EventType'] !== 'Preempt' || properties?.['EventStatus'] !== 'Scheduled') return undefined;
    if (!scaleSet || typeof vm !== 'string' || !vm.includes('_')) return undefined;
    return {
      scaleSetName: scaleSet,
      instanceId: vm.slice(vm.lastIndexOf('_') + 1),
      reason: 'Preempt',
      cause: 'Preempt',
    };
  }
  const target = String(properties?.['targetResourceId'] ?? event.subject);
  const m = /\/virtualMachineScaleSets\/([^/]+)\/virtualMachines\/([^/]+)$/i.exec(target);
  if (!m) return undefined;
  const [, scaleSetName, instanceId] = m as unknown as [string, string, string];
  if (event.eventType.endsWith('HealthResources.ResourceAnnotated')) {
    const annotation = String(properties?.['annotationName'] ?? '');
    return LOSS_ANNOTATIONS.has(annotation.toLowerCase())
      ? { scaleSetName, instanceId, reason: annotation, cause: annotation }
      : undefined;
  }
  if (event.eventType.endsWith('HealthResources.AvailabilityStatusChanged')) {
    return String(properties?.['availabilityState']) === 'Unavailable'
      ? { scaleSetName, instanceId, reason: 'the VM became unavailable' }
      : undefined;
  }
  return undefined;
}

export async function applyVmEvent(
  deps: {
    nodes: NodeStore;
    store: Pick<ResourceStore, 'get'>;
    lifecycles: Pick<Lifecycles, 'computeChanged'>;
    now(): Date;
  },
  event: VmEvent,
): Promise<{ outcome: 'lost' | 'ignored'; reason: string }> {
  const loss = lostNodeOf(event);
  if (!loss) return { outcome: 'ignored', reason: `${event.eventType} does not report a lost VM` };
  const now = deps.now().toISOString();
  const { node, changed } = await deps.nodes.update(loss.scaleSetName, loss.instanceId, (current) => {
    // A node we are removing anyway, or one already lost, needs nothing more (but the first known cause of a loss
    // is kept: the job that ran there is requeued according to it, docs/decisions/0105).
    if (!current || current.state === 'leaving') return undefined;
    if (current.state === 'unusable' && current.unusableReason === 'lost') {
      return current.lostBecause || !loss.cause ? undefined : { ...current, lostBecause: loss.cause };
    }
    return withNodeState(current, 'unusable', now, {
      unusableReason: 'lost',
      ...(loss.cause ? { lostBecause: loss.cause } : {}),
      error: { code: 'NodeLost', message: `The node's VM was lost: ${loss.reason}.` },
    });
  });
  if (!changed || !node) return { outcome: 'ignored', reason: 'no node to mark (unknown, leaving or already lost)' };
  const parsed = parseBatchAiResourceId(node.resourceId);
  if (!parsed.ok || (parsed.value.kind !== 'cluster' && parsed.value.kind !== 'fileServer')) {
    return { outcome: 'lost', reason: loss.reason };
  }
  const stored = await deps.store.get(parsed.value);
  const record = stored?.record as unknown as (ClusterRecord & { operationId?: string }) | undefined;
  if (record?.uid) {
    await deps.lifecycles.computeChanged({
      kind: parsed.value.kind,
      resourceId: node.resourceId,
      uid: record.uid,
      operationId: record.operationId ?? '',
      reason: `node ${loss.instanceId} lost (${loss.reason})`,
    });
  }
  return { outcome: 'lost', reason: loss.reason };
}
