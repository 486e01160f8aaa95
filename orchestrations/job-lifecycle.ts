import type { InvocationContext } from '@azure/functions';
import type { ActivityHandler, OrchestrationContext, OrchestrationHandler, Task, TimerTask } from 'durable-functions';
import * as df from 'durable-functions';
import { markJobProvisioned, type TransitionDeps } from '../shared/api/job-transitions.js';
import type { BatchAiError } from '../shared/domain/resource-states.js';
import { type AttemptFailure, infrastructureCodeOf } from '../shared/domain/retry-policy.js';
import { enqueueJob } from '../shared/jobs/enqueue-job.js';
import { type AttemptTask, type FindAttemptTasksInput, findAttemptTasks } from '../shared/jobs/find-attempt-tasks.js';
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
import { endJobBackoff, type RequeueJobInput, type RequeueJobResult, requeueJob } from '../shared/jobs/requeue-job.js';

// One orchestration per job (instance id from the job's uid, so a second start is a no-op), one generation per
// attempt (continueAsNew on a requeue, so history stays bounded by one attempt's events):
//
//   queued → allocated (the cluster's scheduler raises `allocated`) → prepare (jobPreparation on every node, the
//   job's mountVolumes mounted with it) → run (runTask to each node) → wait for every task's exit / a failing task /
//   a lost node / the nodes released by a resize / maxWallClockTime (a durable timer) / terminate → final state →
//   nodes released (the scheduler's next pass starts the next job).
//
// Every event carries {jobId, attempt}; one for another attempt is stale and ignored. A lost node (or a resize
// with `requeue`, or the job's own failure under its retry policy) kills the job's processes on its other nodes,
// gives the gang back and, as `requeueJob` decides (docs/decisions/0105), requeues the job first in its class as
// attempt + 1 or fails it (infrastructure cap reached, retries used up). A requeue after a capped infrastructure
// failure comes with a back-off: the next generation sleeps on a durable timer until it ends, then lets the
// scheduler start it.

export const JOB_LIFECYCLE = 'jobLifecycle';
export const TERMINATE_EVENT = JOB_EVENTS.terminate;
export const ACTIVITIES = {
  markJobProvisioned: 'markJobProvisioned',
  enqueueJob: 'enqueueJob',
  launchJobAttempt: 'launchJobAttempt',
  killJobTasks: 'killJobTasks',
  findAttemptTasks: 'findAttemptTasks',
  finishJob: 'finishJob',
  requeueJob: 'requeueJob',
  endJobBackoff: 'endJobBackoff',
} as const;

export interface JobLifecycleInput {
  jobId: string;
  operationId: string;
  /** Set by continueAsNew: the attempt this generation runs (1 when absent). */
  attempt?: number;
  uid?: string;
  clusterId?: string;
  /** Set by continueAsNew after a capped infrastructure failure: the attempt may not start before (ISO 8601). */
  notBefore?: string;
}

export const jobInstanceId = (uid: string): string => `job-${uid}`;

/** How long a killed job's processes get to report their exit before its nodes are given back anyway. */
const KILL_GRACE_MS = 15_000;
/**
 * How long the tasks of a node under a Preempt notice are waited for. Its agent, still running, stops them and says
 * so within about a second (command poll ≤ 300 ms, kill, one queue hop); a node that stays silent has already been
 * shut down, and its tasks with it (an agent's tasks die with it).
 */
const PREEMPTED_STOP_GRACE_MS = 3_000;
/** How long a task killed by a signal we did not send waits for its node's loss to be reported. */
const SIGNAL_GRACE_MS = 10_000;
/**
 * How long a node lost by a VM event waits for the event naming its cause (Resource Health sends Unavailable and the
 * annotation apart, in no set order): a preemption must not be counted as a capped loss for arriving second.
 */
const CAUSE_GRACE_MS = 5_000;

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

  // Waiting tasks persist across yields: one per event name, renewed once it has fired. A deadline gets a fresh
  // timer per wait (cancelled when an event wins): a timer yielded again inside a new Task.any is scheduled again
  // by the backend, which shifts every later task's sequence number and leaves the orchestration waiting forever.
  const pending = new Map<string, Task>();
  const waitOne = (names: readonly string[], until?: Date) => {
    for (const name of names) if (!pending.has(name)) pending.set(name, context.df.waitForExternalEvent(name));
    return function* () {
      const timer = until ? (context.df.createTimer(until) as unknown as Task & TimerTask) : undefined;
      const tasks = [...names.map((n) => pending.get(n)!), ...(timer ? [timer] : [])];
      const winner = (yield context.df.Task.any(tasks)) as Task;
      if (timer && winner === timer) return { kind: 'timeout' } as Waited;
      timer?.cancel();
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

  const recover = (failure: AttemptFailure) =>
    call(ACTIVITIES.requeueJob, { jobId: input.jobId, clusterId, attempt, failure } satisfies RequeueJobInput);
  const nextAttempt = (result?: RequeueJobResult) => {
    const { notBefore: _n, ...rest } = input;
    const notBefore = result?.requeued ? result.notBefore : undefined;
    context.df.continueAsNew({ ...rest, attempt: attempt + 1, uid, clusterId, ...(notBefore ? { notBefore } : {}) });
    return undefined;
  };
  // After a failure that may be retried: the next attempt, or the job failed (with `errors` unless the decision
  // names its own).
  function* afterRecovery(result: RequeueJobResult, errors: BatchAiError[], exitCode?: number) {
    if (result.requeued || !result.fail) return nextAttempt(result);
    yield finish({
      outcome: 'failed',
      errors: result.error ? [result.error] : errors,
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
    return { jobId: input.jobId, outcome: 'failed' };
  }

  const kill = (tasks: Array<{ nodeId: string; taskId: string }>) =>
    call(ACTIVITIES.killJobTasks, { jobId: input.jobId, attempt, uid, tasks });
  // Ending the attempt before hearing of its nodes: the pass that gave them may have launched it (or promoted it from
  // staging) and not told this lifecycle yet, or ever. Whatever it may run is stopped before the nodes go back, as
  // the tasks of a running attempt are; on a lost node, only told to stop (its processes are gone with it).
  // `phase`: only what a launch of that phase would have started. `withdraw` (a terminate while queued): the job
  // also leaves the queue in the same write, so no pass launches it after this look.
  function* stopUnheard(look: { lostNodeId?: string; phase?: 'prepare' | 'run'; withdraw?: true }) {
    const { lostNodeId, ...rest } = look;
    const tasks = (yield call(ACTIVITIES.findAttemptTasks, {
      jobId: input.jobId,
      clusterId,
      attempt,
      ...rest,
    } satisfies FindAttemptTasksInput)) as AttemptTask[];
    const onLost = tasks.filter((t) => t.nodeId === lostNodeId);
    const running = new Map(tasks.filter((t) => t.nodeId !== lostNodeId).map((t) => [t.taskId, t]));
    if (onLost.length > 0) yield kill(onLost);
    if (running.size > 0) yield* stopTasks(context, kill, running, waitOne);
  }

  // Queued: wait for nodes (or a terminate). In back-off, a durable timer ends it: the scheduler is woken then.
  let nodeIds: string[];
  let first: LaunchResult | undefined;
  let backoff = input.notBefore ? new Date(input.notBefore) : undefined;
  let lostEarly: Waited | undefined;
  for (;;) {
    const got = (yield* waitOne(
      [JOB_EVENTS.allocated, JOB_EVENTS.terminate, JOB_EVENTS.nodeLost],
      backoff,
    )()) as Waited;
    if (got.kind === 'timeout') {
      backoff = undefined;
      yield call(ACTIVITIES.endJobBackoff, { jobId: input.jobId, clusterId, attempt });
      continue;
    }
    if (got.kind === 'terminate') {
      yield* stopUnheard({ withdraw: true });
      yield finish({ outcome: 'terminated', ...opOf(got.event) });
      return { jobId: input.jobId, outcome: 'terminated' };
    }
    // A node of this attempt lost before it heard it had them. Usually `allocated` is on its way (raised by the same
    // pass): then the attempt starts and ends at once as any attempt that loses a node does (its tasks on the other
    // nodes stopped first). If it does not come (the pass that gave the nodes, or promoted it from staging, failed
    // before telling it), the attempt is over all the same, and the next one is queued.
    if (got.kind === 'nodeLost' && got.event.attempt === attempt) {
      const grace = new Date(context.df.currentUtcDateTime.getTime() + CAUSE_GRACE_MS);
      const next = (yield* waitOne([JOB_EVENTS.allocated], grace)()) as Waited;
      if (next.kind === 'allocated' && next.event.attempt === attempt) {
        nodeIds = next.event.nodeIds;
        first = next.event.launched as LaunchResult | undefined;
        lostEarly = got;
        break;
      }
      const { nodeId, reason, cause } = got.event;
      yield* stopUnheard({ lostNodeId: nodeId });
      const code = infrastructureCodeOf(cause);
      const message = `Node ${nodeId} was lost as the job started on it (${cause ?? reason}).`;
      const result = (yield recover({ kind: 'infrastructure', code, message })) as RequeueJobResult;
      return yield* afterRecovery(result, [{ code, message }]);
    }
    if (got.kind === 'allocated' && got.event.attempt === attempt) {
      nodeIds = got.event.nodeIds;
      first = got.event.launched as LaunchResult | undefined;
      break;
    }
  }

  const launch = (phase: LaunchInput['phase']) =>
    call(ACTIVITIES.launchJobAttempt, { jobId: input.jobId, attempt, nodeIds, phase } satisfies LaunchInput);
  // Prepare, then run. Each phase waits for its tasks' exits and for whatever can end the attempt early.
  let deadline = 0;
  let limitText = '';
  let exitCode: number | undefined;
  // Whether a phase of this attempt has run tasks: until then, what the pass that gave the nodes launched is unknown.
  let phaseRan = false;
  for (const phase of ['prepare', 'run'] as const) {
    let launched: LaunchResult;
    if (first?.ok && first.phase === 'run' && phase === 'prepare') continue; // launched straight into its run
    const ownLaunch = first === undefined;
    if (first !== undefined) {
      // The scheduler pass launched the first phase already (or found why it cannot start).
      launched = first;
      first = undefined;
    } else {
      launched = (yield launch(phase)) as LaunchResult;
    }
    if (!launched.ok) {
      if ('gone' in launched) return { jobId: input.jobId, outcome: 'gone' };
      // Told of its nodes without the pass's launch (told again after that pass stopped, decision 0122), this launch
      // failed: the pass's may have gone out and run. It is stopped before the attempt ends.
      if (ownLaunch && !phaseRan) {
        yield* stopUnheard({ phase, ...('lostNodeId' in launched ? { lostNodeId: launched.lostNodeId } : {}) });
      }
      if ('lostNodeId' in launched) {
        const message = `Node ${launched.lostNodeId} was lost before the job started on it.`;
        const result = (yield recover({ kind: 'infrastructure', code: 'NodeLost', message })) as RequeueJobResult;
        return yield* afterRecovery(result, [{ code: 'NodeLost', message }]);
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
    const timer = new Date(deadline);
    let failure: TaskFailure | undefined;
    let ending: Waited | undefined;
    while (running.size > 0) {
      const got =
        lostEarly ??
        ((yield* waitOne(
          [JOB_EVENTS.taskExited, JOB_EVENTS.nodeLost, JOB_EVENTS.releaseNodes, JOB_EVENTS.terminate],
          timer,
        )()) as Waited);
      lostEarly = undefined;
      if (got.kind === 'taskExited') {
        if (got.event.attempt !== attempt || !running.has(got.event.taskId)) continue;
        running.delete(got.event.taskId);
        const failed = got.event.error !== undefined || got.event.exitCode !== 0;
        if (got.event.taskId.endsWith('.master') || master === undefined) master = got.event.exitCode ?? undefined;
        if (failed && got.event.signal !== null && got.event.error === undefined) {
          // Killed by a signal we did not send: usually its node is going away (eviction, shutdown), and the agent
          // stopped its tasks first. Wait a little for the node's loss to be reported before blaming the job.
          const grace = new Date(context.df.currentUtcDateTime.getTime() + SIGNAL_GRACE_MS);
          const next = (yield* waitOne([JOB_EVENTS.nodeLost, JOB_EVENTS.terminate], grace)()) as Waited;
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
    // A lost node's processes are usually gone with it: nothing to wait for there. Its VM may still run them for a
    // while (a VM being deleted), so they are told to stop too (best effort, not waited for). After a Preempt notice
    // the VM certainly still runs until its shutdown: its tasks are stopped and waited for like the others (a few
    // seconds at most: a silent agent's VM is gone, and its tasks with it), so the next attempt never runs beside
    // them.
    if (ending?.kind === 'nodeLost' && ending.event.cause !== 'Preempt') {
      const lostNodeId = ending.event.nodeId;
      const onLostNode = [...running].filter(([, task]) => task.nodeId === lostNodeId);
      for (const [id] of onLostNode) running.delete(id);
      if (onLostNode.length > 0) yield kill(onLostNode.map(([, task]) => task));
    }
    const preempted = ending?.kind === 'nodeLost' && ending.event.cause === 'Preempt' ? ending.event.nodeId : undefined;
    if (running.size > 0) yield* stopTasks(context, kill, running, waitOne, preempted);
    if (ending?.kind === 'nodeLost' && ending.event.causePending && !ending.event.cause) {
      ending = yield* awaitCause(context, ending, waitOne);
    }
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
      const { nodeId, reason, cause } = ending.event;
      const code = infrastructureCodeOf(cause);
      const message = `Node ${nodeId} was lost while the job ran on it (${cause ?? reason}).`;
      const result = (yield recover({ kind: 'infrastructure', code, message })) as RequeueJobResult;
      return yield* afterRecovery(result, [{ code, message }]);
    }
    if (ending?.kind === 'releaseNodes') {
      if (ending.event.option === 'requeue') {
        const message = "The cluster was resized down and released the job's nodes (requeue).";
        const result = (yield recover({ kind: 'infrastructure', code: 'NodesReleased', message })) as RequeueJobResult;
        return yield* afterRecovery(result, [{ code: 'NodesReleased', message }]);
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
      // The job's own failure: failed, as on Batch AI, unless its retry policy retries this exit code.
      const message = failure.errors[0]?.message ?? 'The job failed.';
      const result = (yield recover({ kind: 'job', exitCode: failure.taskExitCode, message })) as RequeueJobResult;
      return yield* afterRecovery(result, failure.errors, failure.exitCode);
    }
    phaseRan = true;
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
  waitOne: (names: readonly string[], until?: Date) => () => Generator<Task, Waited, unknown>,
  /** A node under a Preempt notice: its agent answers at once if it still runs; silence means its VM is gone. */
  preempted?: string,
) {
  yield kill([...running.values()]);
  const start = context.df.currentUtcDateTime.getTime();
  const grace = new Date(start + KILL_GRACE_MS);
  let preemptedBy = preempted ? new Date(start + PREEMPTED_STOP_GRACE_MS) : undefined;
  while (running.size > 0) {
    const waitingOnPreempted = preemptedBy && [...running.values()].some((t) => t.nodeId === preempted);
    const until = waitingOnPreempted ? preemptedBy! : grace;
    const got = (yield* waitOne([JOB_EVENTS.taskExited], until)()) as Waited;
    if (got.kind === 'timeout') {
      if (until === grace) return;
      for (const [id, task] of running) if (task.nodeId === preempted) running.delete(id);
      preemptedBy = undefined;
      continue;
    }
    if (got.kind === 'taskExited') running.delete(got.event.taskId);
  }
}

interface TaskFailure {
  errors: BatchAiError[];
  /** The job's exit code, reported in executionInfo (run phase). */
  exitCode?: number;
  /** The failing task's exit code in either phase (what a retry policy looks at); absent for signals and errors. */
  taskExitCode?: number;
}

/** Waits (bounded) for a later report of the same lost node that names its cause; the first report otherwise. */
function* awaitCause(
  context: OrchestrationContext,
  lost: Extract<Waited, { kind: 'nodeLost' }>,
  waitOne: (names: readonly string[], until?: Date) => () => Generator<Task, Waited, unknown>,
) {
  const grace = new Date(context.df.currentUtcDateTime.getTime() + CAUSE_GRACE_MS);
  for (;;) {
    const got = (yield* waitOne([JOB_EVENTS.nodeLost], grace)()) as Waited;
    if (got.kind === 'timeout') return lost;
    if (got.kind === 'nodeLost' && got.event.attempt === lost.event.attempt && got.event.cause) return got;
  }
}

function taskFailure(phase: 'prepare' | 'run', e: TaskExitedEvent): TaskFailure {
  const retryable = e.error === undefined && e.exitCode !== null ? { taskExitCode: e.exitCode } : {};
  const how = e.exitCode !== null ? `exit code ${e.exitCode}` : `signal ${e.signal ?? 'unknown'}`;
  if (phase === 'prepare') {
    return {
      ...retryable,
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
    ...retryable,
  };
}

/** Activities built from their dependencies, so tests can pass real or in-memory ones. */
export function createJobActivities(
  deps: (context: InvocationContext) => Promise<JobRunDeps>,
  transitions: () => Promise<TransitionDeps>,
  demandChanged?: (jobId: string, clusterId: string, context: InvocationContext) => Promise<void>,
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
    findAttemptTasks: async (input: unknown, context: InvocationContext) =>
      findAttemptTasks(await deps(context), input as Parameters<typeof findAttemptTasks>[1]),
    requeueJob: async (input: unknown, context: InvocationContext) =>
      requeueJob(await deps(context), input as RequeueJobInput),
    endJobBackoff: async (input: unknown, context: InvocationContext) =>
      endJobBackoff(await deps(context), input as Parameters<typeof endJobBackoff>[1]),
    finishJob: async (input: unknown, context: InvocationContext) => {
      const f = input as FinishJobInput;
      const { autoScale } = await finishJob(await deps(context), f);
      if (autoScale !== false) await demandChanged?.(f.jobId, f.clusterId, context);
    },
  };
}

export function registerJobLifecycle(
  deps: (context: InvocationContext) => Promise<JobRunDeps>,
  transitions: () => Promise<TransitionDeps>,
  demandChanged?: (jobId: string, clusterId: string, context: InvocationContext) => Promise<void>,
): void {
  df.app.orchestration(JOB_LIFECYCLE, jobLifecycle);
  const activities = createJobActivities(deps, transitions, demandChanged);
  // The Durable client lets an activity tell other lifecycles (a cluster's scheduler, a job's) that something changed.
  for (const [name, handler] of Object.entries(activities)) {
    df.app.activity(name, { handler, extraInputs: [df.input.durableClient()] });
  }
}
