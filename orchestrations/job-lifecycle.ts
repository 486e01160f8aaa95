import type { InvocationContext } from '@azure/functions';
import type { ActivityHandler, OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import * as df from 'durable-functions';
import { finishJobTermination, markJobProvisioned, type TransitionDeps } from '../shared/api/job-transitions.js';

// One orchestration per job (instance id derived from the job's uid, so a second start is a no-op).
// Today it takes the job from `creating` to queued and waits; the scheduler, runs on nodes and retries
// land in the jobs issue. A terminate request arrives as an external event.

export const JOB_LIFECYCLE = 'jobLifecycle';
export const TERMINATE_EVENT = 'terminate';
export const ACTIVITIES = {
  markJobProvisioned: 'markJobProvisioned',
  finishJobTermination: 'finishJobTermination',
} as const;

export interface JobLifecycleInput {
  jobId: string;
  operationId: string;
}

export const jobInstanceId = (uid: string): string => `job-${uid}`;

// Store writes are idempotent, so retrying them on a transient failure (Cosmos throttling, a restart) is safe.
const storeRetry = new df.RetryOptions(500, 10);
storeRetry.backoffCoefficient = 2;
storeRetry.maxRetryIntervalInMilliseconds = 15_000;

export const jobLifecycle: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput() as JobLifecycleInput;
  yield context.df.callActivityWithRetry(ACTIVITIES.markJobProvisioned, storeRetry, input);
  context.df.setCustomStatus({ phase: 'queued' });
  const terminate = (yield context.df.waitForExternalEvent(TERMINATE_EVENT)) as { operationId: string };
  yield context.df.callActivityWithRetry(ACTIVITIES.finishJobTermination, storeRetry, {
    jobId: input.jobId,
    operationId: terminate.operationId,
  });
  context.df.setCustomStatus({ phase: 'finished' });
  return { jobId: input.jobId, outcome: 'terminated' };
};

/** Told when a job stops counting as demand (its cluster may autoscale down); an event, not shared state. */
export type DemandChanged = (jobId: string, context: InvocationContext) => Promise<void>;

/** Activities built from their dependencies, so tests can pass real or in-memory ones. */
export function createJobActivities(
  deps: () => Promise<TransitionDeps>,
  demandChanged?: DemandChanged,
): Record<keyof typeof ACTIVITIES, ActivityHandler> {
  return {
    markJobProvisioned: async (input: unknown) => markJobProvisioned(await deps(), input as JobLifecycleInput),
    finishJobTermination: async (input: unknown, context: InvocationContext) => {
      const job = input as JobLifecycleInput;
      await finishJobTermination(await deps(), job);
      await demandChanged?.(job.jobId, context);
    },
  };
}

export function registerJobLifecycle(deps: () => Promise<TransitionDeps>, demandChanged?: DemandChanged): void {
  df.app.orchestration(JOB_LIFECYCLE, jobLifecycle);
  const activities = createJobActivities(deps, demandChanged);
  // The Durable client lets an activity tell other lifecycles (a cluster's) that something changed.
  for (const [name, handler] of Object.entries(activities)) {
    df.app.activity(name, { handler, extraInputs: [df.input.durableClient()] });
  }
}
