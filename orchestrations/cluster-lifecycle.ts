import type { InvocationContext } from '@azure/functions';
import type { ActivityHandler, OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import * as df from 'durable-functions';
import type { ComputeLifecycleInput } from '../shared/api/api-deps.js';
import { type ComputeDeps, type ReconcileResult, reconcileCompute } from '../shared/clusters/reconcile-compute.js';

// One orchestration per cluster (and per file server), instance id from the resource's uid. Level-triggered: on
// start and after every change it hears of (nodes changed, resize, demand, delete) it runs one reconcile pass
// (an activity that compares what should be with what is and acts), repeats right away while a pass acted, and
// otherwise sleeps until the next change — or until a deadline the pass named (an idle node's grace period).
// A durable timer is used only for such deadlines, never as a poll. History stays short: continueAsNew after a
// bounded number of passes (a change that arrives meanwhile is seen by the next pass, which re-reads everything).

export const COMPUTE_LIFECYCLE = 'computeLifecycle';
export const COMPUTE_CHANGED_EVENT = 'computeChanged';
export const COMPUTE_ACTIVITIES = { reconcileCompute: 'reconcileCompute' } as const;

const PASSES_PER_GENERATION = 40;
/** Consecutive passes that act before the lifecycle pauses briefly (a guard against a plan that never settles). */
const QUICK_PASSES = 6;

export const computeInstanceId = (kind: 'cluster' | 'fileServer', uid: string): string =>
  `${kind === 'cluster' ? 'cluster' : 'fileserver'}-${uid}`;

// Passes are idempotent, so retrying one after a transient failure (ARM throttling, Cosmos, a restart) is safe.
const passRetry = new df.RetryOptions(1_000, 8);
passRetry.backoffCoefficient = 2;
passRetry.maxRetryIntervalInMilliseconds = 30_000;

export const computeLifecycle: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput() as ComputeLifecycleInput;
  let quick = 0;
  for (let pass = 0; pass < PASSES_PER_GENERATION; pass++) {
    let result: ReconcileResult;
    try {
      result = (yield context.df.callActivityWithRetry(
        COMPUTE_ACTIVITIES.reconcileCompute,
        passRetry,
        input,
      )) as ReconcileResult;
    } catch {
      // Retries exhausted (e.g. ARM unreachable for minutes): wait for the next change or a minute, then try again.
      result = { gone: false, steady: false, acted: false };
    }
    context.df.setCustomStatus({ pass, steady: result.steady, nextCheckAt: result.nextCheckAt ?? null });
    if (result.gone) return { resourceId: input.resourceId, outcome: 'deleted' };
    if (result.acted) {
      quick++;
      if (quick <= QUICK_PASSES) continue; // look again right away at what the pass did
    } else {
      quick = 0;
    }
    // Settled: sleep until a change or the pass's deadline. Unsettled (a plan that keeps acting, or a pass that
    // failed): a short back-off, growing, so a stuck plan costs little.
    const now = context.df.currentUtcDateTime.getTime();
    const backoff = Math.min(60_000, 1_000 * 2 ** Math.max(0, quick - QUICK_PASSES));
    const deadline = result.nextCheckAt
      ? Date.parse(result.nextCheckAt)
      : result.steady && !result.acted
        ? undefined
        : now + backoff;
    const changed = context.df.waitForExternalEvent(COMPUTE_CHANGED_EVENT);
    if (deadline === undefined) {
      yield changed;
      continue;
    }
    const timer = context.df.createTimer(new Date(Math.max(deadline, now + 1)));
    const winner = (yield context.df.Task.any([changed, timer as unknown as Task])) as Task;
    if (winner === (changed as unknown as Task)) timer.cancel();
  }
  context.df.continueAsNew(input);
  return undefined;
};

/** Activities built from their dependencies, so tests can pass real or in-memory ones. */
export function createComputeActivities(
  deps: (context: InvocationContext) => Promise<ComputeDeps>,
): Record<keyof typeof COMPUTE_ACTIVITIES, ActivityHandler> {
  return {
    reconcileCompute: async (input: unknown, context: InvocationContext) =>
      reconcileCompute(await deps(context), input as ComputeLifecycleInput),
  };
}

export function registerComputeLifecycle(deps: (context: InvocationContext) => Promise<ComputeDeps>): void {
  df.app.orchestration(COMPUTE_LIFECYCLE, computeLifecycle);
  // The Durable client lets the nodeDeallocationOption hook tell the jobs on released nodes.
  for (const [name, handler] of Object.entries(createComputeActivities(deps))) {
    df.app.activity(name, { handler, extraInputs: [df.input.durableClient()] });
  }
}
