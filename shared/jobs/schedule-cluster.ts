import { nodeIdOf, scaleSetNameFor } from '../domain/agent-protocol.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import { type NodeRecord, withNodeState } from '../domain/nodes.js';
import { parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import { type Allocation, release, type SchedulerNode, schedulePass } from '../domain/scheduling.js';
import { markNodesIdle } from './job-records.js';
import { type AllocatedEvent, JOB_EVENTS, type JobRunDeps, type NodeLostEvent } from './job-run-deps.js';
import { launchJobAttempt } from './launch-job-attempt.js';

// One scheduling pass of one cluster: read the cluster's nodes, plan and apply under If-Match on the schedule
// document, mark the given nodes running (so the cluster's nodeStateCounts show them), and tell each started job
// which nodes it got. Allocations holding a node that is gone, rebooted or unusable are reported to their job as
// lost, once per pass until the job releases them.
// Passes run from the cluster's scheduler orchestration and, directly, from the end of each job (finish-job.ts),
// so two may run at once: the If-Match update recomputes a pass on what it replaces, so a node is only ever given
// by the one write that holds it (`started` comes from the attempt that was written), and a node seen in a
// stale state is confirmed by a fresh read before its job is told it was lost.
// A pass run by a job's end also gives that job's nodes back in the same document write (`finishing`): its nodes
// count as idle for the plan, the ones handed on stay marked running, and only the others are marked idle after.
// Any node marked running that the document does not hold counts as idle for the plan: its idle mark is pending.

export interface SchedulePassResult {
  started: number;
  lost: number;
  queued: number;
  /** The cluster is gone or being deleted: its scheduler closes the schedule and ends. */
  gone?: true;
  /** With `finishing`: the finished job's nodes this pass did not hand on (marked idle again). */
  idled?: number;
  /** With `finishing`: false when the pass could not run (no cluster), so nothing was given back. */
  finished?: boolean;
}

/** The scale set of each cluster seen by a pass in this process, newest last. */
const scaleSetNames = new Map<string, string>();
const MAX_REMEMBERED_CLUSTERS = 1000;

export async function scheduleCluster(
  deps: JobRunDeps,
  clusterId: string,
  finishing?: { jobId: string },
): Promise<SchedulePassResult> {
  const parsed = parseBatchAiResourceIdOf('cluster', clusterId);
  if (!parsed.ok) throw new Error(`not a cluster id: ${clusterId}`);
  // The node list is read alongside the cluster under the scale set this cluster had last time (a cluster's uid
  // only changes if it is deleted and made again, and then the list is read again under the new one).
  const key = clusterId.toLowerCase();
  const guess = scaleSetNames.get(key);
  const [stored, guessed] = await Promise.all([
    deps.store.get(parsed.value),
    guess ? deps.nodes.list(guess) : undefined,
  ]);
  const cluster = stored?.record as unknown as ClusterRecord | undefined;
  const now = deps.now().toISOString();
  if (!cluster?.uid || cluster.provisioningState === 'deleting') {
    // No nodes will ever come: the scheduler fails what is left (close-cluster-schedule.ts) and ends.
    return { started: 0, lost: 0, queued: 0, gone: true, ...(finishing ? { finished: false } : {}) };
  }
  const scaleSetName = scaleSetNameFor('cluster', cluster.uid);
  scaleSetNames.delete(key);
  scaleSetNames.set(key, scaleSetName);
  if (scaleSetNames.size > MAX_REMEMBERED_CLUSTERS) scaleSetNames.delete(scaleSetNames.keys().next().value!);
  const records = guessed && guess === scaleSetName ? guessed : await deps.nodes.list(scaleSetName);
  const byId = new Map(records.map((n) => [nodeIdOf(n.scaleSetName, n.instanceId), n]));
  const nodes: SchedulerNode[] = records.map((n) => ({
    nodeId: nodeIdOf(n.scaleSetName, n.instanceId),
    // Only a registered node (one we can seal secrets for) whose agent is not stopping is schedulable. A node a
    // resize asked back (releaseRequested) is leaving: when its job ends it is never handed on, even by this pass.
    state: n.releaseRequested
      ? 'leaving'
      : n.state === 'idle' && (!(n.bootId && n.publicKey) || n.stoppingSince)
        ? 'preparing'
        : n.state,
  }));
  const { doc, result } = await deps.schedules.update(clusterId, (current) => {
    let base = current;
    let freed = new Set<string>();
    if (finishing) {
      const jobKey = finishing.jobId.toLowerCase();
      const mine = [...current.allocations, ...current.queue].filter((e) => e.jobId.toLowerCase() === jobKey);
      freed = new Set(current.allocations.filter((a) => a.jobId.toLowerCase() === jobKey).flatMap((a) => a.nodeIds));
      for (const e of mine) base = release(base, e.jobId);
    }
    // The document, not the node state, says who holds a node: one marked running that no allocation holds was
    // given back and its idle mark is still to come (this pass's own finished job, or another pass's).
    const held = new Set(base.allocations.flatMap((a) => a.nodeIds));
    const planned = nodes.map((n) =>
      n.state === 'running' && !held.has(n.nodeId) ? { ...n, state: 'idle' as const } : n,
    );
    const pass = schedulePass(base, planned, now);
    return { doc: pass.doc, result: { started: pass.started, freed } };
  });
  const { started, freed } = result;
  const handedOn = new Set(started.flatMap((a) => a.nodeIds));
  const idling = [...freed].filter((id) => !handedOn.has(id));

  // Nodes are marked running after the document holds them: the document, not the node state, decides who
  // holds a node, so a pass between the two writes cannot give them away. For the same reason the started jobs'
  // launches need not wait for those writes: they go out at the same time.
  // A finished job's node handed straight on is running already (as the node list says): no write at all.
  const marking = Promise.all([
    ...started.flatMap((a) =>
      a.nodeIds
        .filter((nodeId) => !freed.has(nodeId) || byId.get(nodeId)?.state !== 'running')
        .map((nodeId) => {
          const node = byId.get(nodeId)!;
          return deps.nodes.update(node.scaleSetName, node.instanceId, (current) =>
            current && current.state === 'idle' ? withNodeState(current, 'running', now) : undefined,
          );
        }),
    ),
    idleUnlessHeld(deps, clusterId, idling),
  ]);
  // Each started job's first phase is launched here, so its processes start without waiting for one more
  // orchestration episode; a launch that throws is left to the job's lifecycle (command ids make a repeat harmless).
  const launching = Promise.all(
    started.map((a) =>
      launchJobAttempt(
        deps,
        { jobId: a.jobId, attempt: a.attempt, nodeIds: a.nodeIds, phase: 'first' },
        { cluster, nodes: byId },
      ).catch(() => undefined),
    ),
  );
  const [, launched, lost] = await Promise.all([
    marking,
    launching,
    confirmLost(
      deps,
      doc.allocations.flatMap((a) => lostNodes(a, byId)),
      doc.allocations,
      byId,
    ),
  ]);
  await Promise.all([
    ...started.map((a, i) =>
      deps.signals.jobEvent(a.jobId, JOB_EVENTS.allocated, {
        jobId: a.jobId,
        attempt: a.attempt,
        nodeIds: a.nodeIds,
        ...(launched[i] ? { launched: launched[i] } : {}),
      } satisfies AllocatedEvent),
    ),
    ...lost.map((l) => deps.signals.jobEvent(l.jobId, JOB_EVENTS.nodeLost, l)),
  ]);
  return {
    started: started.length,
    lost: lost.length,
    queued: doc.queue.length,
    ...(finishing ? { idled: idling.length, finished: true } : {}),
  };
}

/**
 * The finished job's nodes that this pass did not hand on are marked idle, unless a concurrent pass gave them to a
 * job meanwhile (it counts them as free from its document write on, before this mark lands).
 */
async function idleUnlessHeld(deps: JobRunDeps, clusterId: string, nodeIds: string[]): Promise<void> {
  if (nodeIds.length === 0) return;
  const held = new Set((await deps.schedules.read(clusterId)).allocations.flatMap((a) => a.nodeIds));
  await markNodesIdle(
    deps,
    nodeIds.filter((id) => !held.has(id)),
  );
}

/**
 * The node list was read before the document: another pass may have given a node that registered meanwhile (its
 * list entry still says preparing). Only what a fresh read of the node still shows as lost is reported.
 */
async function confirmLost(
  deps: JobRunDeps,
  candidates: NodeLostEvent[],
  allocations: readonly Allocation[],
  byId: Map<string, { scaleSetName: string; instanceId: string }>,
): Promise<NodeLostEvent[]> {
  if (candidates.length === 0) return candidates;
  const fresh = await Promise.all(
    candidates.map(async (l) => {
      const known = byId.get(l.nodeId);
      if (!known) return l;
      const node = await deps.nodes.get(known.scaleSetName, known.instanceId);
      const now = new Map(node ? [[l.nodeId, node]] : []);
      const a = allocations.find((x) => x.jobId === l.jobId && x.attempt === l.attempt);
      return a ? lostNodes({ ...a, nodeIds: [l.nodeId] }, now)[0] : undefined;
    }),
  );
  return fresh.filter((l): l is NodeLostEvent => l !== undefined);
}

function lostNodes(
  a: Pick<Allocation, 'jobId' | 'attempt' | 'nodeIds' | 'startedAt'>,
  byId: Map<
    string,
    Pick<NodeRecord, 'state' | 'stateSince' | 'stoppingSince' | 'unusableReason' | 'lostBecause' | 'bootAt'>
  >,
): NodeLostEvent[] {
  for (const nodeId of a.nodeIds) {
    const node = byId.get(nodeId);
    if (!node) return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: 'the node is gone' }];
    if (node.state === 'unusable' || node.state === 'leaving' || node.state === 'preparing') {
      const cause = node.lostBecause
        ? { cause: node.lostBecause }
        : node.state === 'unusable' && node.unusableReason === 'lost'
          ? { causePending: true as const }
          : {};
      return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: `the node is ${node.state}`, ...cause }];
    }
    // A held node idle since the allocation, whose current boot registered after it, rebooted under the job (a new
    // boot registered and was set up again, e.g. every VM restarted with the compute service): the job's processes
    // died with the old boot. The boot time matters: a late idle mark of the node's previous job (its release races
    // a pass that hands the node straight on) also leaves a held node idle, and that job is alive.
    const startedAt = Date.parse(a.startedAt);
    if (
      node.state === 'idle' &&
      Date.parse(node.stateSince) > startedAt &&
      (node.bootAt === undefined || Date.parse(node.bootAt) > startedAt)
    ) {
      return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: 'the node restarted under the job' }];
    }
    // Its agent stopped (and stopped the job's processes with it), e.g. the compute emulator went away: waiting for
    // the next boot to register can take longer than the job's grace for a task killed by a signal. A Spot eviction
    // stops the agent too, and its Preempt event may come a moment later through Event Grid: the cause is pending,
    // so the job waits briefly for it and counts the loss as a preemption rather than a capped NodeLost.
    if (node.stoppingSince) {
      return [
        { jobId: a.jobId, attempt: a.attempt, nodeId, reason: "the node's agent stopped", causePending: true as const },
      ];
    }
  }
  return [];
}
