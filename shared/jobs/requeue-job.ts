import { requeue } from '../domain/scheduling.js';
import { isFinal, jobIdOf, MAX_ATTEMPT_RECORDS, markNodesIdle, type RunningJobRecord } from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';

// A running attempt lost its nodes (a node lost, or the cluster released them with `requeue`): the gang is given
// back and the job goes back to the queue first in its class as attempt + 1, keeping its output directories (they
// are the same for every attempt, so the next attempt resumes from its checkpoints). The failure is the
// infrastructure's, recorded apart from the job's own (the `x-batchai-attempts` extension). Stale calls (an attempt
// no longer holding nodes) change nothing.

export async function requeueJob(
  deps: JobRunDeps,
  input: { jobId: string; clusterId: string; attempt: number; code: string; message: string },
): Promise<{ requeued: boolean }> {
  const now = deps.now().toISOString();
  const { result: held } = await deps.schedules.update(input.clusterId, (current) => {
    const a = current.allocations.find(
      (x) => x.jobId.toLowerCase() === input.jobId.toLowerCase() && x.attempt === input.attempt,
    );
    if (!a) return { doc: current, result: undefined };
    return { doc: requeue(current, a.jobId, input.attempt, now), result: a.nodeIds };
  });
  if (!held) return { requeued: false };
  const released = input.code === 'NodesReleased';
  await markNodesIdle(deps, held, released ? 'leaving' : 'idle');
  await deps.store
    .update(jobIdOf(input.jobId), (current) => {
      const job = current.record as unknown as RunningJobRecord;
      if (isFinal(job)) return undefined;
      if (job.attempts?.some((a) => a.attempt === input.attempt)) return undefined;
      const { run: _run, ...rest } = job;
      const next: RunningJobRecord = {
        ...rest,
        ...(job.executionState === 'running' ? { executionState: 'queued', executionStateTransitionTime: now } : {}),
        attempts: [
          ...(job.attempts ?? []),
          {
            attempt: input.attempt,
            kind: 'infrastructure' as const,
            code: input.code,
            message: input.message,
            endTime: now,
          },
        ].slice(-MAX_ATTEMPT_RECORDS),
      };
      return { ...current, record: next as unknown as Record<string, unknown> };
    })
    .catch((err) => {
      if (!/not found|404/i.test(String(err)) && (err as { statusCode?: number }).statusCode !== 404) throw err;
    });
  await deps.signals.scheduleChanged(input.clusterId);
  if (released) await deps.signals.clusterChanged(input.clusterId, `nodes released by job ${input.jobId}`);
  return { requeued: true };
}
