import type { BatchAiError } from '../domain/resource-states.js';
import {
  type AttemptFailure,
  DEFAULT_INFRASTRUCTURE_RETRIES,
  decideRecovery,
  INFRASTRUCTURE_LIMIT_CODE,
  JOB_FAILURE_CODE,
  type RecoveryDecision,
  type RetryPolicy,
} from '../domain/retry-policy.js';
import { endBackoff, requeue } from '../domain/scheduling.js';
import {
  type AttemptRecord,
  isFinal,
  jobIdOf,
  MAX_ATTEMPT_RECORDS,
  markNodesIdle,
  type RunningJobRecord,
} from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';

// An attempt ended early: its node was lost (preempted, host crashed, agent lost), the cluster released its nodes
// with `requeue`, or the job failed on its own. `decideRecovery` says whether the job goes back to the queue (first
// in its class, as attempt + 1, keeping its output directories so the next attempt resumes from its checkpoints;
// after a capped infrastructure failure not before its back-off ends) or fails (the cap reached, no retry policy,
// or the policy's retries used up). Every such attempt is recorded with its reason (`x-batchai-attempts`).
//
// The job record is written first and carries the decision, so a retried call (this activity is at-least-once)
// reads the decision back instead of counting the same failure twice; the schedule change is idempotent.

export interface RequeueJobInput {
  jobId: string;
  clusterId: string;
  attempt: number;
  failure: AttemptFailure;
}

export type RequeueJobResult =
  | { requeued: true; notBefore?: string }
  /** The job must fail; `error` is absent for its own failure (the task's errors stand). */
  | { requeued: false; fail: true; error?: BatchAiError }
  /** Nothing to do: the job is over already (terminated, deleted). */
  | { requeued: false; fail?: undefined };

export async function requeueJob(deps: JobRunDeps, input: RequeueJobInput): Promise<RequeueJobResult> {
  const now = deps.now();
  const nowIso = now.toISOString();
  let recorded: { entry: AttemptRecord; decision?: RecoveryDecision } | undefined;
  try {
    await deps.store.update(jobIdOf(input.jobId), (current) => {
      const job = current.record as unknown as RunningJobRecord;
      const earlier = job.attempts?.find((a) => a.attempt === input.attempt);
      if (earlier) {
        recorded = { entry: earlier };
        return undefined;
      }
      if (isFinal(job)) return undefined;
      const decision = decideRecovery({
        failure: input.failure,
        counts: job.failureCounts,
        policy: job.properties['x-batchai-retryPolicy'] as RetryPolicy | undefined,
        settings: deps.retries ?? DEFAULT_INFRASTRUCTURE_RETRIES,
        now: now.getTime(),
      });
      // The job's own failure without a retry policy is Batch AI's plain failure: nothing to add to the job.
      if (input.failure.kind === 'job' && decision.action === 'fail' && !decision.countsAgainstCap) {
        recorded = { entry: attemptEntry(input, decision, nowIso), decision };
        return undefined;
      }
      const entry = attemptEntry(input, decision, nowIso);
      recorded = { entry, decision };
      const { run: _run, ...rest } = job;
      const requeued = decision.action === 'requeue';
      const next: RunningJobRecord = {
        ...rest,
        ...(requeued && job.executionState === 'running'
          ? { executionState: 'queued', executionStateTransitionTime: nowIso }
          : {}),
        failureCounts: decision.counts,
        attempts: [...(job.attempts ?? []), entry].slice(-MAX_ATTEMPT_RECORDS),
      };
      return { ...current, record: next as unknown as Record<string, unknown> };
    });
  } catch (err) {
    if (!/not found|404/i.test(String(err)) && (err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  if (!recorded) return { requeued: false };
  if (recorded.entry.outcome === 'failed') {
    const error = recorded.decision?.action === 'fail' ? recorded.decision.error : failedError(recorded.entry);
    return { requeued: false, fail: true, ...(error ? { error } : {}) };
  }

  const notBefore = recorded.entry.retryNotBefore;
  const { result: held } = await deps.schedules.update(input.clusterId, (current) => {
    const a = current.allocations.find(
      (x) => x.jobId.toLowerCase() === input.jobId.toLowerCase() && x.attempt === input.attempt,
    );
    if (!a) return { doc: current, result: undefined };
    return { doc: requeue(current, a.jobId, input.attempt, nowIso, notBefore), result: a.nodeIds };
  });
  const released = input.failure.kind === 'infrastructure' && input.failure.code === 'NodesReleased';
  if (held) await markNodesIdle(deps, held, released ? 'leaving' : 'idle');
  await deps.signals.scheduleChanged(input.clusterId);
  if (released) await deps.signals.clusterChanged(input.clusterId, `nodes released by job ${input.jobId}`);
  return notBefore ? { requeued: true, notBefore } : { requeued: true };
}

/** The back-off of a queued attempt ended (its lifecycle's durable timer fired): it may start; wake the scheduler. */
export async function endJobBackoff(
  deps: JobRunDeps,
  input: { jobId: string; clusterId: string; attempt: number },
): Promise<void> {
  await deps.schedules.update(input.clusterId, (current) => {
    const q = current.queue.find((x) => x.jobId.toLowerCase() === input.jobId.toLowerCase());
    return { doc: q ? endBackoff(current, q.jobId, input.attempt) : current, result: undefined };
  });
  await deps.signals.scheduleChanged(input.clusterId);
}

function attemptEntry(input: RequeueJobInput, decision: RecoveryDecision, now: string): AttemptRecord {
  const f = input.failure;
  return {
    attempt: input.attempt,
    kind: f.kind,
    code: f.kind === 'infrastructure' ? f.code : JOB_FAILURE_CODE,
    message: f.message,
    endTime: now,
    countsAgainstCap: decision.countsAgainstCap,
    outcome: decision.action === 'requeue' ? 'requeued' : 'failed',
    ...(f.kind === 'job' && f.exitCode !== undefined ? { exitCode: f.exitCode } : {}),
    ...(decision.action === 'requeue' && decision.notBefore !== undefined
      ? { retryNotBefore: new Date(decision.notBefore).toISOString() }
      : {}),
  };
}

// A repeated call after the job was failed by the cap: the same error again, from what was recorded.
function failedError(entry: AttemptRecord): BatchAiError | undefined {
  if (entry.kind === 'job') return undefined;
  return {
    code: INFRASTRUCTURE_LIMIT_CODE,
    message: `The job's infrastructure failures reached the limit; the last: ${entry.message}`,
  };
}
