import { type NodeRecord, withNodeState } from './nodes.js';

// What Azure says about a scale-set VM (Event Grid system events, in the Event Grid or the CloudEvents 1.0 schema)
// and what that does to the node's record. Pure: the trigger normalises the envelope, this file reads the shapes
// (docs/failures.md, "VM events and heartbeats", lists every one) and decides; the caller applies the decision under
// If-Match. Idempotent by construction: the decision depends on the record's state and on the newest VM event time
// already applied, so a repeat or an older event changes nothing.

/** One event, whatever schema it came in. */
export interface GridEvent {
  id: string;
  eventType: string;
  subject: string;
  /** ISO 8601; when the event happened (the resource's own time when the event carries one). */
  eventTime: string;
  data: unknown;
}

/**
 * Either schema → one shape. Event Grid: { id, topic, subject, eventType, eventTime, data, dataVersion };
 * CloudEvents 1.0: { id, source, subject, type, time, data, specversion }. A string says why it is not an event.
 */
export function normalizeGridEvent(raw: unknown): GridEvent | string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'not a JSON object';
  const e = raw as Record<string, unknown>;
  const cloud = typeof e['specversion'] === 'string';
  const eventType = cloud ? e['type'] : e['eventType'];
  const time = cloud ? e['time'] : e['eventTime'];
  if (typeof e['id'] !== 'string' || typeof eventType !== 'string') return 'no id or event type';
  const data = e['data'];
  // The platform's own time of the change beats the envelope's (which may be the publishing time).
  const resourceTime = (data as { operationalInfo?: { resourceEventTime?: unknown } } | undefined)?.operationalInfo
    ?.resourceEventTime;
  const when = [resourceTime, time].find((t) => typeof t === 'string' && !Number.isNaN(Date.parse(t))) as
    | string
    | undefined;
  if (!when) return `${eventType} ${e['id']} has no valid event time`;
  return {
    id: e['id'],
    eventType,
    subject: typeof e['subject'] === 'string' ? e['subject'] : '',
    eventTime: new Date(Date.parse(when)).toISOString(),
    data,
  };
}

/**
 * What an event means for one scale-set VM:
 * - lost: the VM (and whatever ran on it) is gone or going; the node is replaced.
 * - restarted: the VM rebooted in place; its processes are gone, its next boot registers and is set up again.
 * - noted: nothing changes (Available, Degraded), but the time is recorded so an older event arriving later
 *   cannot undo what this one said.
 */
export type VmSignalKind = 'lost' | 'restarted' | 'noted';

export interface VmSignal {
  scaleSetName: string;
  instanceId: string;
  kind: VmSignalKind;
  reason: string;
  eventTime: string;
  eventId: string;
  /**
   * What took the VM away (an annotation name, or `Preempt`), when the event says: it decides how the loss of the
   * job that ran there counts (docs/decisions/0105). Absent for a bare Unavailable or a delete.
   */
  cause?: string;
}

export type VmEventMeaning = { signals: VmSignal[] } | { ignored: string };

const HEALTH = 'Microsoft.ResourceNotifications.HealthResources.';
const AVAILABILITY_CHANGED = `${HEALTH}AvailabilityStatusChanged`;
const RESOURCE_ANNOTATED = `${HEALTH}ResourceAnnotated`;
const SCHEDULED_EVENT = 'Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted';
const ACTION_SUCCESS = 'Microsoft.Resources.ResourceActionSuccess';
const DELETE_SUCCESS = 'Microsoft.Resources.ResourceDeleteSuccess';

/** Resource Health VM annotations (lower case) → what they mean for the node. Others are noted only. */
const ANNOTATIONS: Record<string, VmSignalKind> = {
  virtualmachinepreempted: 'lost',
  virtualmachinehostcrashed: 'lost',
  virtualmachinehostrebootedforrepair: 'lost',
  virtualmachinemigrationinitiatedforrepair: 'lost',
  virtualmachinestorageoffline: 'lost',
  virtualmachinepossiblydegradedduetohardwarefailure: 'lost',
  virtualmachineprovisioningtimedout: 'lost',
  // User-initiated: a deallocation or stop takes the VM away from the cluster; a restart keeps it.
  virtualmachinedeallocationinitiated: 'lost',
  virtualmachinestopinitiatedbycontrolplane: 'lost',
  virtualmachinestopinitiatedbyuser: 'lost',
  virtualmachinerestarted: 'restarted',
};

/**
 * ARM actions on a scale-set VM (the tail of operationName, lower case) that take it away. A restart, reimage or
 * redeploy is not acted on here: its success event comes when the operation ends, after the VM's next boot may
 * already have registered, so it cannot say which boot it ended. The `VirtualMachineRestarted` annotation (sent when
 * the restart begins) and the next boot's registration say it instead.
 */
const ACTIONS: Record<string, VmSignalKind> = { deallocate: 'lost', poweroff: 'lost' };

const VM_ID = /\/virtualMachineScaleSets\/([^/]+)\/virtualMachines\/([^/]+)$/i;

// Our scale-set names are lower case (scaleSetNameFor); ARM ids in events may not keep a name's case.
function vmOf(resourceId: unknown): { scaleSetName: string; instanceId: string } | undefined {
  const m = typeof resourceId === 'string' ? VM_ID.exec(resourceId) : null;
  return m ? { scaleSetName: m[1]!.toLowerCase(), instanceId: m[2]! } : undefined;
}

type Props = Record<string, unknown>;
const propertiesOf = (data: unknown): Props =>
  ((data as { resourceInfo?: { properties?: Props } } | undefined)?.resourceInfo?.properties ?? {}) as Props;

/** The scale-set VMs an event is about and what it means for each; `ignored` says why it means nothing to us. */
export function vmEventMeaning(event: GridEvent): VmEventMeaning {
  const signal = (
    vm: { scaleSetName: string; instanceId: string },
    kind: VmSignalKind,
    reason: string,
    cause?: string,
  ): VmSignal => ({
    ...vm,
    kind,
    reason,
    eventTime: event.eventTime,
    eventId: event.id,
    ...(cause ? { cause } : {}),
  });
  const eventType = event.eventType.toLowerCase();

  if (eventType === AVAILABILITY_CHANGED.toLowerCase() || eventType === RESOURCE_ANNOTATED.toLowerCase()) {
    const props = propertiesOf(event.data);
    const vm = vmOf(props['targetResourceId'] ?? event.subject);
    if (!vm) return { ignored: `${event.eventType} is not about a scale-set VM (${event.subject})` };
    if (eventType === AVAILABILITY_CHANGED.toLowerCase()) {
      const state = String(props['availabilityState'] ?? '');
      return {
        signals: [
          signal(vm, state.toLowerCase() === 'unavailable' ? 'lost' : 'noted', `the VM became ${state || 'Unknown'}`),
        ],
      };
    }
    const annotation = String(props['annotationName'] ?? '');
    const kind = ANNOTATIONS[annotation.toLowerCase()] ?? 'noted';
    return {
      signals: [signal(vm, kind, annotation || 'an unnamed annotation', kind === 'lost' ? annotation : undefined)],
    };
  }

  if (eventType === SCHEDULED_EVENT.toLowerCase()) {
    const props = propertiesOf(event.data);
    const type = String(props['EventType'] ?? '');
    const status = String(props['EventStatus'] ?? '');
    // Preempt (Spot eviction) and Terminate take the VM away: recovery starts at the notice, not 30 s later.
    // A Reboot or Redeploy is reported again as an annotation when it happens; Completed/Canceled need nothing.
    if (!/^(preempt|terminate)$/i.test(type) || !/^(scheduled|started)$/i.test(status)) {
      return { ignored: `scheduled event ${type || '?'} (${status || '?'}) needs no action` };
    }
    const scaleSet = /\/virtualMachineScaleSets\/([^/]+)$/i.exec(event.subject)?.[1];
    const resources = Array.isArray(props['Resources']) ? (props['Resources'] as unknown[]) : [];
    const signals = resources.flatMap((name) => {
      // Scale-set VM names are `{scaleSet}_{instanceId}`.
      const text = String(name);
      const cut = text.lastIndexOf('_');
      if (cut <= 0) return [];
      const vm = { scaleSetName: text.slice(0, cut).toLowerCase(), instanceId: text.slice(cut + 1) };
      if (scaleSet && vm.scaleSetName !== scaleSet.toLowerCase()) return [];
      return [signal(vm, 'lost', `scheduled event ${type}`, /^preempt$/i.test(type) ? 'Preempt' : undefined)];
    });
    return signals.length > 0 ? { signals } : { ignored: `scheduled event ${type} names no scale-set VM` };
  }

  if (eventType === ACTION_SUCCESS.toLowerCase() || eventType === DELETE_SUCCESS.toLowerCase()) {
    const data = (event.data ?? {}) as Props;
    const vm = vmOf(data['resourceUri'] ?? event.subject);
    if (!vm) return { ignored: `${event.eventType} is not about a scale-set VM (${event.subject})` };
    if (eventType === DELETE_SUCCESS.toLowerCase()) return { signals: [signal(vm, 'lost', 'the VM was deleted')] };
    const operation = String(data['operationName'] ?? '');
    const action = /\/([^/]+)\/action$/i.exec(operation)?.[1]?.toLowerCase() ?? '';
    const kind = ACTIONS[action];
    if (!kind) return { ignored: `${operation || 'an action'} does not change the VM's node` };
    return { signals: [signal(vm, kind, `${action} (${operation})`)] };
  }

  return { ignored: `${event.eventType} is not a VM event` };
}

export interface VmEventDecision {
  next?: NodeRecord;
  ignored?: string;
  /** The node's VM is gone or rebooted: the lifecycle (replace it) and the scheduler (free its job) must hear. */
  notify?: boolean;
}

/**
 * What one VM signal does to the node's record. Ignored: an unknown node; an event older than the node's current
 * boot (it was about a boot that is over); an event older than one already applied (out of order); a node that
 * is leaving (we delete it) or already lost. A signal that changes no state still records its time.
 */
export function nextNodeOnVmSignal(current: NodeRecord | undefined, signal: VmSignal, now: string): VmEventDecision {
  if (!current) return { ignored: 'no such node (unknown VM, or a node already removed)' };
  const at = Date.parse(signal.eventTime);
  if (current.bootAt && at < Date.parse(current.bootAt)) {
    return { ignored: `the event (${signal.eventTime}) is older than the node's current boot (${current.bootAt})` };
  }
  if (current.vmEventAt && at < Date.parse(current.vmEventAt)) {
    return { ignored: `the event (${signal.eventTime}) is older than one already applied (${current.vmEventAt})` };
  }
  if (current.state === 'leaving') return { ignored: 'the node is being removed' };
  if (current.state === 'unusable' && current.unusableReason === 'lost') {
    // The first known cause is kept (a bare Unavailable may come before the annotation that names it).
    if (signal.kind === 'lost' && signal.cause && !current.lostBecause) {
      return { next: { ...current, lostBecause: signal.cause } };
    }
    return { ignored: 'the node is already lost' };
  }
  const seen: NodeRecord =
    !current.vmEventAt || at > Date.parse(current.vmEventAt) ? { ...current, vmEventAt: signal.eventTime } : current;
  if (signal.kind === 'lost') {
    return {
      next: withNodeState(seen, 'unusable', now, {
        unusableReason: 'lost',
        ...(signal.cause ? { lostBecause: signal.cause } : {}),
        error: { code: 'NodeLost', message: `The node's VM was lost: ${signal.reason}.` },
      }),
      notify: true,
    };
  }
  if (signal.kind === 'restarted') {
    if (current.state === 'preparing' && current.setupId === undefined) {
      return seen === current ? { ignored: 'the node already waits for its next boot' } : { next: seen };
    }
    // The old boot's setup no longer counts (a late setupSucceeded of it must not make the node idle): the node
    // waits for its next boot to register, which gets a new setup.
    const { setupId: _s, ...rest } = withNodeState(seen, 'preparing', now);
    return { next: rest, notify: true };
  }
  return seen === current ? { ignored: `${signal.reason}: nothing to change` } : { next: seen };
}
