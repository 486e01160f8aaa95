import { z } from 'zod';
import type { BatchAiError } from './resource-states.js';
import { addRuleIssue, int32 } from './schema-primitives.js';

// What happens to a job attempt that ended early (docs/decisions/0105-infrastructure-caps-and-retry-policy.md):
//
// - Infrastructure failures are counted apart from the job's own, by kind. A preemption (Spot eviction) and a resize
//   that released the job's nodes are never the job's fault and are requeued without limit and without delay, as
//   Azure Batch and SkyPilot do. Any other loss (host crash, agent or heartbeat lost, node unusable) may be caused
//   by the job's own image or setup, so it is capped, with exponential back-off before the next attempt may start.
// - The job's own failure (a task's non-zero exit) fails the job, as on Batch AI, unless the job carries the
//   `x-batchai-retryPolicy` extension and the exit code is one it retries (AWS Batch `evaluateOnExit` in spirit).

/** Why an attempt ended when it was not the job's doing; the `code` of an `x-batchai-attempts` entry. */
export const INFRASTRUCTURE_CODES = ['NodePreempted', 'NodeHostCrashed', 'NodeLost', 'NodesReleased'] as const;
export type InfrastructureCode = (typeof INFRASTRUCTURE_CODES)[number];

/** The code of an attempt that ended for the job's own failure and was retried under its retry policy. */
export const JOB_FAILURE_CODE = 'JobFailed';

/** Error code of a job failed because its infrastructure failures reached the cap. */
export const INFRASTRUCTURE_LIMIT_CODE = 'InfrastructureFailureLimitReached';

/** Infrastructure failures never counted against the cap. */
const UNCAPPED: ReadonlySet<InfrastructureCode> = new Set(['NodePreempted', 'NodesReleased']);

export const MAX_JOB_RETRIES = 10;

export const retryPolicySchema = z
  .strictObject({
    maxRetries: int32()
      .min(0)
      .max(MAX_JOB_RETRIES)
      .describe('How many times a failed job is run again (0..10); its attempts run at most maxRetries + 1 times.'),
    retryOnExitCodes: z
      .array(int32())
      .min(1)
      .max(32)
      .optional()
      .describe('Exit codes that are retried; absent: every non-zero exit code is retried.'),
  })
  .superRefine((policy, ctx) => {
    policy.retryOnExitCodes?.forEach((code, i) => {
      if (code === 0) addRuleIssue(ctx, 'exit code 0 is success and cannot be retried', ['retryOnExitCodes', i]);
    });
  })
  .describe(
    'Extension: retries of the job after its own failure (a task exiting with a non-zero code). Absent: a failed ' +
      'job is failed, as on Batch AI. Infrastructure failures are not governed by it.',
  );

export type RetryPolicy = z.output<typeof retryPolicySchema>;

/** Settings of the infrastructure cap (the service's, from app settings). */
export interface InfrastructureRetrySettings {
  /** Capped infrastructure failures requeued before the job fails (0: the first one fails it). */
  limit: number;
  /** Back-off before the attempt after the first capped failure; doubled for each further one. */
  backoffMs: number;
  /** Upper bound of the back-off. */
  maxBackoffMs: number;
}

export const DEFAULT_INFRASTRUCTURE_RETRIES: InfrastructureRetrySettings = {
  limit: 5,
  backoffMs: 5_000,
  maxBackoffMs: 300_000,
};

/** Failures counted so far (kept on the job; the attempts list is bounded, these counts are not). */
export interface FailureCounts {
  /** Capped infrastructure failures (host crash, node lost). */
  infrastructure: number;
  /** The job's own failures that were retried. */
  job: number;
}

export type AttemptFailure =
  | { kind: 'infrastructure'; code: InfrastructureCode; message: string }
  | { kind: 'job'; exitCode: number | undefined; message: string };

export type RecoveryDecision =
  | {
      action: 'requeue';
      countsAgainstCap: boolean;
      counts: FailureCounts;
      /** Epoch ms before which the next attempt may not start (capped infrastructure failures only). */
      notBefore?: number;
    }
  | {
      action: 'fail';
      countsAgainstCap: boolean;
      counts: FailureCounts;
      /** The job's error; absent for the job's own failure, which keeps the task's own errors. */
      error?: BatchAiError;
    };

/** The code of a lost node's cause (a VM annotation, a scheduled event, or nothing known). */
export function infrastructureCodeOf(cause: string | undefined): InfrastructureCode {
  const c = (cause ?? '').toLowerCase();
  if (c === 'virtualmachinepreempted' || c === 'preempt' || c === 'preempted') return 'NodePreempted';
  if (
    c === 'virtualmachinehostcrashed' ||
    c === 'virtualmachinehostrebootedforrepair' ||
    c === 'virtualmachinemigrationinitiatedforrepair' ||
    c === 'virtualmachinestorageoffline' ||
    c === 'virtualmachinepossiblydegradedduetohardwarefailure'
  ) {
    return 'NodeHostCrashed';
  }
  return 'NodeLost';
}

export const countsAgainstCap = (code: InfrastructureCode): boolean => !UNCAPPED.has(code);

/** The n-th back-off (n ≥ 1; it follows the (n+1)-th capped failure): backoffMs, doubled each time, at most maxBackoffMs. */
export function backoffMs(n: number, settings: InfrastructureRetrySettings): number {
  const exp = Math.min(Math.max(n - 1, 0), 30);
  return Math.min(settings.maxBackoffMs, settings.backoffMs * 2 ** exp);
}

/** True when the policy retries a job failure with this exit code (signals and launch errors have none). */
export function retriesExitCode(policy: RetryPolicy, exitCode: number | undefined): boolean {
  if (exitCode === undefined || exitCode === 0) return false;
  return policy.retryOnExitCodes === undefined || policy.retryOnExitCodes.includes(exitCode);
}

/** Decides what an ended attempt leads to. Pure: the caller supplies the counts so far and the clock. */
export function decideRecovery(input: {
  failure: AttemptFailure;
  counts: FailureCounts | undefined;
  policy: RetryPolicy | undefined;
  settings: InfrastructureRetrySettings;
  now: number;
}): RecoveryDecision {
  const counts = input.counts ?? { infrastructure: 0, job: 0 };
  const { failure } = input;
  if (failure.kind === 'job') {
    const policy = input.policy;
    if (policy && retriesExitCode(policy, failure.exitCode) && counts.job < policy.maxRetries) {
      return { action: 'requeue', countsAgainstCap: true, counts: { ...counts, job: counts.job + 1 } };
    }
    return { action: 'fail', countsAgainstCap: policy !== undefined, counts };
  }
  if (!countsAgainstCap(failure.code)) return { action: 'requeue', countsAgainstCap: false, counts };
  const n = counts.infrastructure + 1;
  const next = { ...counts, infrastructure: n };
  if (n > input.settings.limit) {
    return {
      action: 'fail',
      countsAgainstCap: true,
      counts: next,
      error: {
        code: INFRASTRUCTURE_LIMIT_CODE,
        message:
          `The job's nodes failed ${n} times (host crash or node lost), more than the limit of ` +
          `${input.settings.limit}; the last: ${failure.message}`,
        details: [
          { name: 'lastFailure', value: failure.code },
          { name: 'infrastructureFailures', value: String(n) },
          { name: 'limit', value: String(input.settings.limit) },
        ],
      },
    };
  }
  // The first capped failure is retried at once: a single host crash should cost seconds, like a preemption. Only a
  // repeat (a broken image, a bad host pool) waits, longer each time.
  return {
    action: 'requeue',
    countsAgainstCap: true,
    counts: next,
    ...(n > 1 ? { notBefore: input.now + backoffMs(n - 1, input.settings) } : {}),
  };
}
