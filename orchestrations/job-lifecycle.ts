import type { InvocationContext } from '@azure/functions';
import type { ActivityHandler, OrchestrationContext, OrchestrationHandler, Task, TimerTask } from 'durable-functions';
import * as df from 'durable-functions';
import { markJobProvisioned, type TransitionDeps } from '../shared/api/job-transitions.js';
import type { BatchAiError } from '../shared/domain/resource-states.js';
import { enqueueJob } from '../shared/jobs/enqueue-job.js';
import { type FinishJobInput, finishJob } from '../shared/jobs/finish-job.js';
import {
  type AllocatedEvent,
  JOB_EVENTS,
  type JobRunDeps,
  type NodeLostEvent,
  type ReleaseNodesEvent,
  type TaskExitedEvent,
} from '../shared/jobs/job-run-deps.js';
import { killJobTasks } from '../shared/jobs/kill-job-tasks.js';
import { type LaunchInput, type LaunchResult, launchJobAttempt } from '../shared/jobs/launch-job-attempt.js';
import { requeueJob } from '../shared/jobs/requeue-job.js';

// One orchestration per job (instance id from the job's uid, so a second start is a no-op), one generation per
// attempt (continueAsNew on a requeue, so history stays bounded by one attempt's events):
//
//   queued → allocated (the cluster's scheduler raises `allocated`) → prepare (jobPreparation on every node, the
//   job's mountVolumes mounted with it) → run (runTask to each node) → wait for every task's exit / a failing task /
//   a lost node / the nodes released by a resize / maxWallClockTime (a durable timer) / terminate → final state →
//   nodes released (the scheduler's next pass starts the next job).
//
// Every event carries {jobId, attempt}; one for another attempt is stale and ignored. A lost node (or a resize
// with `requeue`) kills the job's processes on its other nodes, gives the gang back and requeues the job first in
// its class as attempt + 1.

export const JOB_LIFECYCLE = 'jobLifecycle';
export const TERMINATE_EVENT = JOB_EVENTS.terminate;
export const ACTIVITIES = {
  markJobProvisioned: 'markJobProvisioned',
  enqueueJob: 'enqueueJob',
  launchJobAttempt: 'launchJobAttempt',
  killJobTasks: 'killJobTasks',
  finishJob: 'finishJob',
  requeueJob: 'requeueJob',
} as const;

export interface JobLifecycleInput {
  jobId: string;
  operationId: string;
  /** Set by continueAsNew: the attempt this generation runs (1 when absent). */
  attempt?: number;
  uid?: string;
  clusterId?: string;
}

export const jobInstanceId = (uid: string): string => `job-${uid}`;

/** How long a killed job's processes get to report their exit before its nodes are given back anyway. */
const KILL_GRACE_MS = 15_000;
/** How long a task killed by a signal we did not send waits for its node's loss to be reported. */
const SIGNAL_GRACE_MS = 10_000;

// Store writes are idempotent, so retrying them on a transient failure (Cosmos throttling, a restart) is safe.
const storeRetry = new df.RetryOptions(500, 10);
storeRetry.backoffCoefficient = 2;
storeRetry.maxRetryIntervalInMilliseconds = 15_000;

type Waited =
  | { kind: 'allocated'; event: AllocatedEvent }
  | { kind: 'taskExited'; event: TaskExitedEvent }
  | { kind: 'nodeLost'; event: NodeLostEvent }
  | { kind: 'releaseNodes'; event: ReleaseNodesEvent }
  | { kind: 'terminate'; event: { operationId?: string } }
  | { kind: 'timeout' };

export const jobLifecycle: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput() as JobLifecycleInput;
  const attempt = input.attempt ?? 1;
  const call = (name: string, payload: unknown) => context.df.callActivityWithRetry(name, storeRetry, payload);
  const uid = context.df.instanceId.replace(/^job-/, '');

  // Waiting tasks persist across yields: one per event name, renewed once it has fired.
  const pending = new Map<string, Task>();
  const waitOne = (names: readonly string[], timer?: TimerTask) => {
    for (const name of names) if (!pending.has(name)) pending.set(name, context.df.waitForExternalEvent(name));
    return function* () {
      const tasks = [...names.map((n) => pending.get(n)!), ...(timer ? [timer as unknown as Task] : [])];
      const winner = (yield context.df.Task.any(tasks)) as Task;
      if (timer && winner === (timer as unknown as Task)) return { kind: 'timeout' } as Waited;
      const name = names.find((n) => pending.get(n) === winner)!;
      pending.delete(name);
      return { kind: name, event: winner.result } as Waited;
    };
  };

  let clusterId = input.clusterId ?? '';
  if (attempt === 1) {
    // One activity (provisioned, then queued): every hop before the job starts is latency the user waits for.
    const queued = (yield call(ACTIVITIES.enqueueJob, {
      jobId: input.jobId,
      operationId: input.operationId,
    })) as { clusterId?: string; gone?: true };
    if (!queued.clusterId) return { jobId: input.jobId, outcome: 'gone' };
    clusterId = queued.clusterId;
  }
  const finish = (f: Omit<FinishJobInput, 'jobId' | 'clusterId'>) =>
    call(ACTIVITIES.finishJob, { jobId: input.jobId, clusterId, ...f } satisfies FinishJobInput);
  context.df.setCustomStatus({ phase: 'queued', attempt });

  // Queued: wait for nodes (or a terminate).
  let nodeIds: string[];
  let first: LaunchResult | undefined;
  for (;;) {
    const got = (yield* waitOne([JOB_EVENTS.allocated, JOB_EVENTS.terminate])()) as Waited;
    if (got.kind === 'terminate') {
      yield finish({ outcome: 'terminated', ...opOf(got.event) });
      return { jobId: input.jobId, outcome: 'terminated' };
    }
    if (got.kind === 'allocated' && got.event.attempt === attempt) {
      nodeIds = got.event.nodeIds;
      first = got.event.launched as LaunchResult | undefined;
      break;
    }
  }

  const launch = (phase: LaunchInput['phase']) =>
    call(ACTIVITIES.launchJobAttempt, { jobId: input.jobId, attempt, nodeIds, phase } satisfies LaunchInput);
  const requeue = (code: string, message: string) =>
    call(ACTIVITIES.requeueJob, { jobId: input.jobId, clusterId, attempt, code, message });
  const kill = (tasks: Array<{ nodeId: string; taskId: string }>) =>
    call(ACTIVITIES.killJobTasks, { jobId: input.jobId, attempt, uid, tasks });
  const nextAttempt = () => {
    context.df.continueAsNew({ ...input, attempt: attempt + 1, uid, clusterId });
    return undefined;
  };

  // Prepare, then run. Each phase waits for its tasks' exits and for whatever can end the attempt early.
  let deadline = 0;
  let limitText = '';
  let exitCode: number | undefined;
  for (const phase of ['prepare', 'run'] as const) {
    let launched: LaunchResult;
    if (first?.ok && first.phase === 'run' && phase === 'prepare') continue; // launched straight into its run
    if (first !== undefined) {
      // The scheduler pass launched the first phase already (or found why it cannot start).
      launched = first;
      first = undefined;
    } else {
      launched = (yield launch(phase)) as LaunchResult;
    }
    if (!launched.ok) {
      if ('gone' in launched) return { jobId: input.jobId, outcome: 'gone' };
      if ('lostNodeId' in launched) {
        yield requeue('NodeLost', `Node ${launched.lostNodeId} was lost before the job started on it.`);
        return nextAttempt();
      }
      yield finish({ outcome: 'failed', errors: [launched.error] });
      return { jobId: input.jobId, outcome: 'failed' };
    }
    context.df.setCustomStatus({ phase, attempt, nodeIds });
    if (deadline === 0) deadline = context.df.currentUtcDateTime.getTime() + launched.maxWallClockMs;
    limitText = launched.maxWallClockTime;
    const running = new Map(launched.tasks.map((t) => [t.taskId, t]));
    let master: number | undefined;
    if (running.size === 0) continue; // no jobPreparation: straight to the run phase
    const timer = context.df.createTimer(new Date(deadline));
    let failure: { errors: BatchAiError[]; exitCode?: number } | undefined;
    let ending: Waited | undefined;
    while (running.size > 0) {
      const got = (yield* waitOne(
        [JOB_EVENTS.taskExited, JOB_EVENTS.nodeLost, JOB_EVENTS.releaseNodes, JOB_EVENTS.terminate],
        timer,
      )()) as Waited;
      if (got.kind === 'taskExited') {
        if (got.event.attempt !== attempt || !running.has(got.event.taskId)) continue;
        running.delete(got.event.taskId);
        const failed = got.event.error !== undefined || got.event.exitCode !== 0;
        if (got.event.taskId.endsWith('.master') || master === undefined) master = got.event.exitCode ?? undefined;
        if (failed && got.event.signal !== null && got.event.error === undefined) {
          // Killed by a signal we did not send: usually its node is going away (eviction, shutdown), and the agent
          // stopped its tasks first. Wait a little for the node's loss to be reported before blaming the job.
          const grace = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + SIGNAL_GRACE_MS));
          const next = (yield* waitOne([JOB_EVENTS.nodeLost, JOB_EVENTS.terminate], grace)()) as Waited;
          if (next.kind !== 'timeout') grace.cancel();
          if (next.kind === 'terminate' || (next.kind === 'nodeLost' && next.event.attempt === attempt)) {
            ending = next;
            break;
          }
        }
        if (failed) {
          failure = taskFailure(phase, got.event);
          break;
        }
        continue;
      }
      if (got.kind === 'nodeLost' || got.kind === 'releaseNodes') {
        if (got.event.attempt !== attempt) continue;
        if (got.kind === 'releaseNodes' && got.event.option === 'waitforjobcompletion') continue;
      }
      ending = got;
      break;
    }
    if (ending?.kind !== 'timeout') timer.cancel();
    // A lost node's processes are gone with it: nothing to wait for there.
    if (ending?.kind === 'nodeLost') {
      for (const [id, task] of running) if (task.nodeId === ending.event.nodeId) running.delete(id);
    }
    if (running.size > 0) yield* stopTasks(context, kill, running, waitOne);
    if (ending?.kind === 'terminate') {
      yield finish({ outcome: 'terminated', ...opOf(ending.event) });
      return { jobId: input.jobId, outcome: 'terminated' };
    }
    if (ending?.kind === 'timeout') {
      yield finish({
        outcome: 'failed',
        errors: [
          {
            code: 'JobTimeout',
            message: `The job ran longer than its maxWallClockTime (${limitText}) and was terminated.`,
          },
        ],
      });
      return { jobId: input.jobId, outcome: 'timeout' };
    }
    if (ending?.kind === 'nodeLost') {
      yield requeue(
        'NodeLost',
        `Node ${ending.event.nodeId} was lost while the job ran on it (${ending.event.reason}).`,
      );
      return nextAttempt();
    }
    if (ending?.kind === 'releaseNodes') {
      if (ending.event.option === 'requeue') {
        yield requeue('NodesReleased', "The cluster was resized down and released the job's nodes (requeue).");
        return nextAttempt();
      }
      yield finish({
        outcome: 'failed',
        errors: [
          ending.event.error ?? {
            code: 'NodesReleased',
            message: 'The cluster was resized down and terminated the job (nodeDeallocationOption terminate).',
          },
        ],
      });
      return { jobId: input.jobId, outcome: 'failed' };
    }
    if (failure) {
      yield finish({
        outcome: 'failed',
        errors: failure.errors,
        ...(failure.exitCode !== undefined ? { exitCode: failure.exitCode } : {}),
      });
      return { jobId: input.jobId, outcome: 'failed' };
    }
    if (phase === 'run') exitCode = master ?? 0;
  }
  yield finish({ outcome: 'succeeded', exitCode: exitCode ?? 0 });
  context.df.setCustomStatus({ phase: 'finished', attempt });
  return { jobId: input.jobId, outcome: 'succeeded' };
};

const opOf = (event: { operationId?: string } | undefined) =>
  event?.operationId ? { operationId: event.operationId } : {};

/** killTask to the tasks still running, then wait (bounded) for their exits so the nodes are free when given back. */
function* stopTasks(
  context: OrchestrationContext,
  kill: (tasks: Array<{ nodeId: string; taskId: string }>) => Task,
  running: Map<string, { nodeId: string; taskId: string }>,
  waitOne: (names: readonly string[], timer?: TimerTask) => () => Generator<Task, Waited, unknown>,
) {
  yield kill([...running.values()]);
  const grace = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + KILL_GRACE_MS));
  while (running.size > 0) {
    const got = (yield* waitOne([JOB_EVENTS.taskExited], grace)()) as Waited;
    if (got.kind === 'timeout') return;
    if (got.kind === 'taskExited') running.delete(got.event.taskId);
  }
  grace.cancel();
}

function taskFailure(phase: 'prepare' | 'run', e: TaskExitedEvent): { errors: BatchAiError[]; exitCode?: number } {
  const how = e.exitCode !== null ? `exit code ${e.exitCode}` : `signal ${e.signal ?? 'unknown'}`;
  if (phase === 'prepare') {
    return {
      errors: [
        {
          code: 'JobPreparationFailed',
          message: e.error
            ? `Job preparation on node ${e.nodeId} failed: ${e.error.message}`
            : `Job preparation on node ${e.nodeId} failed with ${how}.`,
          details: [
            { name: 'nodeId', value: e.nodeId },
            ...(e.exitCode !== null ? [{ name: 'exitCode', value: String(e.exitCode) }] : []),
            ...(e.error ? [{ name: 'reason', value: e.error.code }] : []),
          ],
        },
      ],
    };
  }
  if (e.error) return { errors: [e.error] };
  return {
    errors: [
      {
        code: 'JobFailed',
        message: `Task ${e.taskId.slice(e.taskId.indexOf('.') + 1)} on node ${e.nodeId} ended with ${how}.`,
        details: [
          { name: 'taskId', value: e.taskId.slice(e.taskId.indexOf('.') + 1) },
          { name: 'nodeId', value: e.nodeId },
        ],
      },
    ],
    ...(e.exitCode !== null ? { exitCode: e.exitCode } : {}),
  };
}

/** Activities built from their dependencies, so tests can pass real or in-memory ones. */
export function createJobActivities(
  deps: (context: InvocationContext) => Promise<JobRunDeps>,
  transitions: () => Promise<TransitionDeps>,
  demandChanged?: (jobId: string, context: InvocationContext) => Promise<void>,
): Record<keyof typeof ACTIVITIES, ActivityHandler> {
  return {
    markJobProvisioned: async (input: unknown) =>
      markJobProvisioned(await transitions(), input as { jobId: string; operationId: string }),
    enqueueJob: async (input: unknown, context: InvocationContext) => {
      const job = input as { jobId: string; operationId?: string };
      if (job.operationId)
        await markJobProvisioned(await transitions(), { jobId: job.jobId, operationId: job.operationId });
      return enqueueJob(await deps(context), job);
    },
    launchJobAttempt: async (input: unknown, context: InvocationContext) =>
      launchJobAttempt(await deps(context), input as LaunchInput),
    killJobTasks: async (input: unknown, context: InvocationContext) =>
      killJobTasks(await deps(context), input as Parameters<typeof killJobTasks>[1]),
    requeueJob: async (input: unknown, context: InvocationContext) =>
      requeueJob(await deps(context), input as Parameters<typeof requeueJob>[1]),
    finishJob: async (input: unknown, context: InvocationContext) => {
      const f = input as FinishJobInput;
      await finishJob(await deps(context), f);
      await demandChanged?.(f.jobId, context);
    },
  };
}

export function registerJobLifecycle(
  deps: (context: InvocationContext) => Promise<JobRunDeps>,
  transitions: () => Promise<TransitionDeps>,
  demandChanged?: (jobId: string, context: InvocationContext) => Promise<void>,
): void {
  df.app.orchestration(JOB_LIFECYCLE, jobLifecycle);
  const activities = createJobActivities(deps, transitions, demandChanged);
  // The Durable client lets an activity tell other lifecycles (a cluster's scheduler, a job's) that something changed.
  for (const [name, handler] of Object.entries(activities)) {
    df.app.activity(name, { handler, extraInputs: [df.input.durableClient()] });
  }
}
