import type { AgentEvent } from './agent-protocol.js';
import { type NodeRecord, rememberBoot, withNodeState } from './nodes.js';

// What one agent event does to a node's record: pure, so the rules (idempotency per boot and sequence number,
// stale boots, state transitions) are tested on their own. The caller applies the result under If-Match.

export interface NodeEventDecision {
  /** The new record; undefined to leave it as it is. */
  next?: NodeRecord;
  /** Why the event changes nothing, when it does not. */
  ignored?: string;
}

export function nextNodeRecord(
  current: NodeRecord | undefined,
  event: AgentEvent,
  role: 'cluster' | 'fileServer',
  now: string,
): NodeEventDecision {
  const { bootId } = event.node;
  if (current?.pastBootIds?.includes(bootId)) return { ignored: `boot ${bootId} was replaced by a later boot` };
  const sameBoot = current?.bootId === bootId;
  if (sameBoot && (current?.lastSeq ?? -1) >= event.seq) {
    return { ignored: `event ${event.seq} of boot ${bootId} was already applied` };
  }
  if (event.kind === 'registered') return { next: registeredNode(current, event, role, now) };
  if (!current || !sameBoot) return { ignored: `no registration of boot ${bootId} is known` };
  const next = nextNodeState(current, event, now);
  return next ? { next } : { ignored: `${event.kind} changes nothing` };
}

function registeredNode(
  current: NodeRecord | undefined,
  event: Extract<AgentEvent, { kind: 'registered' }>,
  role: 'cluster' | 'fileServer',
  now: string,
): NodeRecord {
  const { node: ref } = event;
  const newBoot = current?.bootId !== ref.bootId;
  const base: NodeRecord = (current && (newBoot ? withoutStopping(current) : current)) ?? {
    scaleSetName: ref.scaleSetName,
    instanceId: ref.instanceId,
    resourceId: ref.resourceId,
    state: 'preparing',
    stateSince: now,
    createdAt: now,
  };
  const registered: NodeRecord = {
    ...base,
    vmId: ref.vmId,
    bootId: ref.bootId,
    ...(newBoot ? { bootAt: event.at } : current?.bootAt ? { bootAt: current.bootAt } : {}),
    pastBootIds: newBoot ? rememberBoot(current?.pastBootIds, current?.bootId) : (current?.pastBootIds ?? []),
    lastSeq: event.seq,
    ipAddress: event.ipAddress,
    port: event.port,
    publicKey: event.publicKey,
    vmSize: event.vmSize,
    cores: event.cores,
    gpus: event.gpus,
  };
  if (role === 'fileServer') return withNodeState(registered, 'idle', now);
  // A new boot starts over: its setup (mounts, setup task) is sent again, for this boot's key.
  if (newBoot || event.setup === 'none') {
    return {
      ...withNodeState({ ...registered, state: 'preparing' }, 'preparing', now),
      setupId: `setup-${ref.bootId}`,
    };
  }
  if (event.setup === 'succeeded')
    return withNodeState(registered, registered.state === 'running' ? 'running' : 'idle', now);
  if (event.setup === 'failed')
    return registered.state === 'unusable'
      ? registered
      : withNodeState(registered, 'unusable', now, { unusableReason: 'setupFailed' });
  return registered;
}

/** A new boot is not stopping: whatever the previous boot's agent said about itself is over. */
function withoutStopping(node: NodeRecord): NodeRecord {
  const { stoppingSince: _stopping, ...rest } = node;
  return rest;
}

function nextNodeState(current: NodeRecord, event: AgentEvent, now: string): NodeRecord | undefined {
  const seen = { ...current, lastSeq: event.seq };
  switch (event.kind) {
    case 'setupSucceeded':
      if (event.setupId !== current.setupId || current.state !== 'preparing') return seen;
      return withNodeState(seen, 'idle', now);
    case 'setupFailed':
      if (event.setupId !== current.setupId) return seen;
      return withNodeState(seen, 'unusable', now, { error: event.error, unusableReason: 'setupFailed' });
    case 'stopping':
      // Evicted or deallocated under us: the node is lost (replaced). A deletion we asked for is leaving.
      // A graceful shutdown (the local stack stopping, or the compute emulator gone) or a restart keeps the node:
      // its next boot registers.
      if (event.reason === 'deallocated') return withNodeState(seen, 'unusable', now, { unusableReason: 'lost' });
      if (event.reason === 'deleted') return withNodeState(seen, 'leaving', now);
      // Its tasks were stopped with it: the scheduler gives a job held here up as lost, not failed.
      return { ...seen, stoppingSince: now };
    case 'taskStarted':
    case 'taskExited':
    case 'unstaged':
      // Tasks are the job lifecycles' (the jobs issue); the node record only records that the event was seen.
      return seen;
    default:
      return undefined;
  }
}
