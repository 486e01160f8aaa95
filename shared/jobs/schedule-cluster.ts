import { nodeIdOf, scaleSetNameFor } from '../domain/agent-protocol.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import { type NodeRecord, withNodeState } from '../domain/nodes.js';
import { parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import { type Allocation, type SchedulerNode, schedulePass } from '../domain/scheduling.js';
import { type AllocatedEvent, JOB_EVENTS, type JobRunDeps, type NodeLostEvent } from './job-run-deps.js';
import { launchJobAttempt } from './launch-job-attempt.js';

// One scheduling pass of one cluster, run by the cluster's scheduler (its one serial owner): read the cluster's
// nodes, plan and apply under If-Match on the schedule document, mark the given nodes running (so the cluster's
// nodeStateCounts show them), and tell each started job which nodes it got. Allocations holding a node that is
// gone, rebooted or unusable are reported to their job as lost, once per pass until the job releases them.

export interface SchedulePassResult {
  started: number;
  lost: number;
  queued: number;
  /** The cluster is gone or being deleted: its scheduler closes the schedule and ends. */
  gone?: true;
}

export async function scheduleCluster(deps: JobRunDeps, clusterId: string): Promise<SchedulePassResult> {
  const parsed = parseBatchAiResourceIdOf('cluster', clusterId);
  if (!parsed.ok) throw new Error(`not a cluster id: ${clusterId}`);
  const stored = await deps.store.get(parsed.value);
  const cluster = stored?.record as unknown as ClusterRecord | undefined;
  const now = deps.now().toISOString();
  if (!cluster?.uid || cluster.provisioningState === 'deleting') {
    // No nodes will ever come: the scheduler fails what is left (close-cluster-schedule.ts) and ends.
    return { started: 0, lost: 0, queued: 0, gone: true };
  }
  const scaleSetName = scaleSetNameFor('cluster', cluster.uid);
  const records = await deps.nodes.list(scaleSetName);
  const byId = new Map(records.map((n) => [nodeIdOf(n.scaleSetName, n.instanceId), n]));
  const nodes: SchedulerNode[] = records.map((n) => ({
    nodeId: nodeIdOf(n.scaleSetName, n.instanceId),
    // Only a registered node (one we can seal secrets for) whose agent is not stopping is schedulable.
    state: n.state === 'idle' && (!(n.bootId && n.publicKey) || n.stoppingSince) ? 'preparing' : n.state,
  }));
  const { doc, result: started } = await deps.schedules.update(clusterId, (current) => {
    const pass = schedulePass(current, nodes, now);
    return { doc: pass.doc, result: pass.started };
  });

  // Nodes are marked running after the document holds them: the document, not the node state, decides who
  // holds a node, so a pass between the two writes cannot give them away.
  await Promise.all(
    started.flatMap((a) =>
      a.nodeIds.map((nodeId) => {
        const node = byId.get(nodeId)!;
        return deps.nodes.update(node.scaleSetName, node.instanceId, (current) =>
          current && current.state === 'idle' ? withNodeState(current, 'running', now) : undefined,
        );
      }),
    ),
  );
  const lost = doc.allocations.flatMap((a) => lostNodes(a, byId));
  // Each started job's first phase is launched here, so its processes start without waiting for one more
  // orchestration episode; a launch that throws is left to the job's lifecycle (command ids make a repeat harmless).
  const launched = await Promise.all(
    started.map((a) =>
      launchJobAttempt(deps, { jobId: a.jobId, attempt: a.attempt, nodeIds: a.nodeIds, phase: 'first' }).catch(
        () => undefined,
      ),
    ),
  );
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
  return { started: started.length, lost: lost.length, queued: doc.queue.length };
}

function lostNodes(
  a: Allocation,
  byId: Map<string, Pick<NodeRecord, 'state' | 'stateSince' | 'stoppingSince' | 'unusableReason' | 'lostBecause'>>,
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
    // A held node is marked running by the pass that allocates it and idle only after its release, so one that
    // became idle since the allocation rebooted under the job (a new boot registered and was set up again, e.g.
    // every VM restarted with the compute service): the job's processes died with the old boot.
    if (node.state === 'idle' && Date.parse(node.stateSince) > Date.parse(a.startedAt)) {
      return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: 'the node restarted under the job' }];
    }
    // Its agent stopped (and stopped the job's processes with it), e.g. the compute emulator went away: waiting for
    // the next boot to register can take longer than the job's grace for a task killed by a signal.
    if (node.stoppingSince) {
      return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: "the node's agent stopped" }];
    }
  }
  return [];
}
