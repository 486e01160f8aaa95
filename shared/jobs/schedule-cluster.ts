import { nodeIdOf, scaleSetNameFor } from '../domain/agent-protocol.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import { withNodeState } from '../domain/nodes.js';
import { parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import { type Allocation, type SchedulerNode, schedulePass } from '../domain/scheduling.js';
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

export interface SchedulePassResult {
  started: number;
  lost: number;
  queued: number;
}

export async function scheduleCluster(deps: JobRunDeps, clusterId: string): Promise<SchedulePassResult> {
  const parsed = parseBatchAiResourceIdOf('cluster', clusterId);
  if (!parsed.ok) throw new Error(`not a cluster id: ${clusterId}`);
  const stored = await deps.store.get(parsed.value);
  const cluster = stored?.record as unknown as ClusterRecord | undefined;
  const now = deps.now().toISOString();
  if (!cluster?.uid || cluster.provisioningState === 'deleting') {
    // No nodes will ever come: the queue waits (a job on a deleted cluster is failed by its own lifecycle).
    return { started: 0, lost: 0, queued: 0 };
  }
  const scaleSetName = scaleSetNameFor('cluster', cluster.uid);
  const records = await deps.nodes.list(scaleSetName);
  const byId = new Map(records.map((n) => [nodeIdOf(n.scaleSetName, n.instanceId), n]));
  const nodes: SchedulerNode[] = records.map((n) => ({
    nodeId: nodeIdOf(n.scaleSetName, n.instanceId),
    // Only a registered node (one we can seal secrets for) is schedulable.
    state: n.state === 'idle' && !(n.bootId && n.publicKey) ? 'preparing' : n.state,
  }));
  const { doc, result: started } = await deps.schedules.update(clusterId, (current) => {
    const pass = schedulePass(current, nodes, now);
    return { doc: pass.doc, result: pass.started };
  });

  // Nodes are marked running after the document holds them: the document, not the node state, decides who
  // holds a node, so a pass between the two writes cannot give them away. For the same reason the started jobs'
  // launches need not wait for those writes: they go out at the same time.
  const marking = Promise.all(
    started.flatMap((a) =>
      a.nodeIds.map((nodeId) => {
        const node = byId.get(nodeId)!;
        return deps.nodes.update(node.scaleSetName, node.instanceId, (current) =>
          current && current.state === 'idle' ? withNodeState(current, 'running', now) : undefined,
        );
      }),
    ),
  );
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
  return { started: started.length, lost: lost.length, queued: doc.queue.length };
}

/**
 * The node list was read before the document: another pass may have given a node that registered meanwhile (its
 * list entry still says preparing). Only what a fresh read of the node still shows as lost is reported.
 */
async function confirmLost(
  deps: JobRunDeps,
  candidates: NodeLostEvent[],
  byId: Map<string, { scaleSetName: string; instanceId: string }>,
): Promise<NodeLostEvent[]> {
  if (candidates.length === 0) return candidates;
  const fresh = await Promise.all(
    candidates.map(async (l) => {
      const known = byId.get(l.nodeId);
      if (!known) return l;
      const node = await deps.nodes.get(known.scaleSetName, known.instanceId);
      const now = new Map(node ? [[l.nodeId, node]] : []);
      return lostNodes({ jobId: l.jobId, attempt: l.attempt, nodeIds: [l.nodeId] }, now)[0];
    }),
  );
  return fresh.filter((l): l is NodeLostEvent => l !== undefined);
}

function lostNodes(
  a: Pick<Allocation, 'jobId' | 'attempt' | 'nodeIds'>,
  byId: Map<string, { state: string }>,
): NodeLostEvent[] {
  for (const nodeId of a.nodeIds) {
    const node = byId.get(nodeId);
    if (!node) return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: 'the node is gone' }];
    if (node.state === 'unusable' || node.state === 'leaving' || node.state === 'preparing') {
      return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: `the node is ${node.state}` }];
    }
  }
  return [];
}
