import type { ClusterRecord } from '../domain/cluster-view.js';
import { parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import type { BatchAiError } from '../domain/resource-states.js';
import { type AllocatedEvent, JOB_EVENTS, type JobRunDeps, type ReleaseNodesEvent } from './job-run-deps.js';

// The last pass of a deleted cluster's scheduler: no node will ever come, so every job still in its schedule ends
// failed with ClusterNotFound, as Batch AI failed the jobs of a deleted cluster. Queued jobs are told through the
// event they wait for (`allocated`, carrying a launch that failed: no nodes, this error); running ones through
// `releaseNodes` with `terminate` and this error (their processes are stopped, their nodes are going anyway).
// The jobs' own lifecycles write their final state and drop them from the schedule, as for any other ending.

export interface CloseScheduleResult {
  /** False when the cluster is alive after all (a new cluster of the same name owns the schedule now). */
  closed: boolean;
  failedQueued: number;
  failedRunning: number;
}

export async function closeClusterSchedule(
  deps: Pick<JobRunDeps, 'store' | 'schedules' | 'signals'>,
  input: { clusterId: string; uid: string },
): Promise<CloseScheduleResult> {
  const parsed = parseBatchAiResourceIdOf('cluster', input.clusterId);
  if (!parsed.ok) throw new Error(`not a cluster id: ${input.clusterId}`);
  const cluster = (await deps.store.get(parsed.value))?.record as unknown as ClusterRecord | undefined;
  // The schedule document is keyed by the cluster's id, not its uid: a cluster of the same name created since owns it.
  if (cluster && cluster.uid !== input.uid && cluster.provisioningState !== 'deleting') {
    return { closed: false, failedQueued: 0, failedRunning: 0 };
  }
  const error: BatchAiError = clusterNotFound(input.clusterId);
  const schedule = await deps.schedules.read(input.clusterId);
  // Staged jobs are still waiting for nodes too (a cancelled one's job has ended already).
  const waiting = [...schedule.queue, ...(schedule.staged ?? []).filter((x) => x.revoke !== 'cancel')];
  await Promise.all([
    ...waiting.map((q) =>
      deps.signals.jobEvent(q.jobId, JOB_EVENTS.allocated, {
        jobId: q.jobId,
        attempt: q.attempt,
        nodeIds: [],
        launched: { ok: false, error },
      } satisfies AllocatedEvent),
    ),
    ...schedule.allocations.map((a) =>
      deps.signals.jobEvent(a.jobId, JOB_EVENTS.releaseNodes, {
        jobId: a.jobId,
        attempt: a.attempt,
        option: 'terminate',
        error,
      } satisfies ReleaseNodesEvent),
    ),
  ]);
  return {
    closed: true,
    failedQueued: waiting.length,
    failedRunning: schedule.allocations.length,
  };
}

export function clusterNotFound(clusterId: string): BatchAiError {
  return {
    code: 'ClusterNotFound',
    message: `The cluster ${clusterId} was deleted; the job cannot run on it.`,
  };
}
