import { enqueue, queuedJobFrom } from '../domain/scheduling.js';
import { isFinal, readJob } from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';
import { scheduleCluster } from './schedule-cluster.js';

// A job enters its cluster's queue (attempt 1). Idempotent. The entry is written by a scheduling pass run right
// here, in the pass's own document write, so a job submitted to a cluster with a free node starts (and one
// submitted to a busy cluster is staged) without waking the cluster's scheduler: one durable event, one episode,
// one activity and one document write fewer per job (decision 0090 did the same for a job's end). When the pass
// cannot run (the cluster is going, a store failed), the job is queued alone and the scheduler takes it from there.
export async function enqueueJob(
  deps: JobRunDeps,
  input: { jobId: string },
): Promise<{ clusterId: string } | { gone: true }> {
  const job = await readJob(deps, input.jobId);
  if (!job || isFinal(job)) return { gone: true };
  const clusterId = job.properties.cluster.id;
  const entry = queuedJobFrom(job, 1);
  const pass = await scheduleCluster(deps, clusterId, undefined, entry).catch(() => undefined);
  if (pass && !pass.gone) return { clusterId };
  await deps.schedules.update(clusterId, (current) => ({ doc: enqueue(current, entry), result: undefined }));
  await deps.signals.scheduleChanged(clusterId);
  return { clusterId };
}
