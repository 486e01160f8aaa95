import type { InvocationContext } from '@azure/functions';
import type { ActivityHandler, OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import * as df from 'durable-functions';
import { type CloseScheduleResult, closeClusterSchedule } from '../shared/jobs/close-cluster-schedule.js';
import type { JobRunDeps } from '../shared/jobs/job-run-deps.js';
import { type SchedulePassResult, scheduleCluster } from '../shared/jobs/schedule-cluster.js';

// The scheduler of a cluster: one orchestration per cluster (instance id from the cluster's uid). It sleeps until
// something that can change the answer happens (a job queued, a node idle or lost, a resize, a job's end whose own
// pass could not hand its nodes on) — each raises `scheduleChanged` — and then runs one pass. Its passes are serial;
// a job's end runs one of its own (decision 0090), and If-Match on the document keeps racing passes apart. A pass
// re-reads everything, and one with nothing to do writes nothing.
// Other writers of the document: enqueue and requeue of single jobs, and the passes run by jobs' ends.
// A pass that finds the cluster deleted (or being deleted) closes the schedule — every job left in it fails with
// ClusterNotFound — and the orchestration ends instead of waiting for signals that would never matter again.

export const CLUSTER_SCHEDULER = 'clusterScheduler';
export const SCHEDULE_CHANGED_EVENT = 'scheduleChanged';
export const SCHEDULER_ACTIVITIES = {
  scheduleCluster: 'scheduleCluster',
  closeClusterSchedule: 'closeClusterSchedule',
} as const;

export const schedulerInstanceId = (clusterUid: string): string => `scheduler-${clusterUid}`;

export interface ClusterSchedulerInput {
  clusterId: string;
}

const PASSES_PER_GENERATION = 50;

const passRetry = new df.RetryOptions(500, 8);
passRetry.backoffCoefficient = 2;
passRetry.maxRetryIntervalInMilliseconds = 10_000;

export const clusterScheduler: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput() as ClusterSchedulerInput;
  const uid = context.df.instanceId.replace(/^scheduler-/, '');
  for (let pass = 0; pass < PASSES_PER_GENERATION; pass++) {
    let gone = false;
    try {
      const result = (yield context.df.callActivityWithRetry(
        SCHEDULER_ACTIVITIES.scheduleCluster,
        passRetry,
        input.clusterId,
      )) as SchedulePassResult;
      context.df.setCustomStatus({ pass, ...result });
      gone = result.gone === true;
    } catch {
      // Retries exhausted (Cosmos down for a while): the next signal tries again.
    }
    if (gone) {
      try {
        const closed = (yield context.df.callActivityWithRetry(SCHEDULER_ACTIVITIES.closeClusterSchedule, passRetry, {
          clusterId: input.clusterId,
          uid,
        })) as CloseScheduleResult;
        context.df.setCustomStatus({ pass, closed });
        if (closed.closed) return { clusterId: input.clusterId, outcome: 'clusterDeleted', ...closed };
      } catch {
        // Retries exhausted: the next signal tries again.
      }
    }
    yield context.df.waitForExternalEvent(SCHEDULE_CHANGED_EVENT);
  }
  context.df.continueAsNew({ clusterId: input.clusterId });
  return undefined;
};

export function createSchedulerActivities(
  deps: (context: InvocationContext) => Promise<JobRunDeps>,
): Record<keyof typeof SCHEDULER_ACTIVITIES, ActivityHandler> {
  return {
    scheduleCluster: async (input: unknown, context: InvocationContext) =>
      scheduleCluster(await deps(context), input as string),
    closeClusterSchedule: async (input: unknown, context: InvocationContext) =>
      closeClusterSchedule(await deps(context), input as { clusterId: string; uid: string }),
  };
}

export function registerClusterScheduler(deps: (context: InvocationContext) => Promise<JobRunDeps>): void {
  df.app.orchestration(CLUSTER_SCHEDULER, clusterScheduler);
  for (const [name, handler] of Object.entries(createSchedulerActivities(deps))) {
    df.app.activity(name, { handler, extraInputs: [df.input.durableClient()] });
  }
}
