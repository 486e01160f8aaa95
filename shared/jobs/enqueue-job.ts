import { enqueue, queuedJobFrom } from '../domain/scheduling.js';
import { isFinal, readJob } from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';

/** A job enters its cluster's queue (attempt 1) and the cluster's scheduler is woken. Idempotent. */
export async function enqueueJob(
  deps: JobRunDeps,
  input: { jobId: string },
): Promise<{ clusterId: string } | { gone: true }> {
  const job = await readJob(deps, input.jobId);
  if (!job || isFinal(job)) return { gone: true };
  const clusterId = job.properties.cluster.id;
  await deps.schedules.update(clusterId, (current) => ({
    doc: enqueue(current, queuedJobFrom(job, 1)),
    result: undefined,
  }));
  await deps.signals.scheduleChanged(clusterId);
  return { clusterId };
}
