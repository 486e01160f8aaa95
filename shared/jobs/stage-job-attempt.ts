import { AGENT_PROTOCOL_VERSION, type AgentCommand } from '../domain/agent-protocol.js';
import { type AllocatedNode, clusterAllowsHostExecution, planLaunch } from '../domain/launch-plans/index.js';
import type { NodeRecord } from '../domain/nodes.js';
import { queuedJobFrom, type StagedJob } from '../domain/scheduling.js';
import { SetupResolutionError } from '../nodes/resolve-node-setup.js';
import { RendezvousBlocksExhausted } from './assign-rendezvous-ports.js';
import { isFinal, jobIdOf, type RunningJobRecord, readJob, splitNodeId } from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';
import {
  commandFor,
  JobSecretError,
  type KnownForLaunch,
  type LaunchResult,
  localRendezvousPorts,
  runningRecord,
  usable,
  wireTaskId,
} from './launch-job-attempt.js';

// Staging and promoting one job (decision 0120). Staging builds the job's first-phase commands for one node exactly
// as a launch would (plan, sealed secrets and mount keys), each marked `after` the tasks the node's current job
// runs there, and leaves the job queued: the agent starts it when those exit. Promotion, once the scheduling
// document gives the job its node, marks it running and tells its lifecycle, as a pass does for a job it launched.

export type StageResult =
  | { ok: true; phase: 'prepare' | 'run'; taskIds: string[]; commands: AgentCommand[] }
  /** The job is gone or over, or its holder has no task on the node: nothing to stage. */
  | { ok: false; skip: true }
  /** The job cannot be planned or prepared for this node: it must start the ordinary way (which reports why). */
  | { ok: false; unstageable: true };

/** Distinguishes one staging of a job from another (a job may be staged, taken back, and staged again). */
export const stagingStamp = (stagedAt: string): string => String(Date.parse(stagedAt));

export async function stageJobAttempt(
  deps: JobRunDeps,
  input: {
    jobId: string;
    attempt: number;
    nodeId: string;
    behind: { jobId: string; attempt: number };
    at: string;
    /** The holder's run-phase task ids on the node, when the caller knows them (else read from its plan). */
    after?: readonly string[] | undefined;
  },
  known: KnownForLaunch,
): Promise<StageResult> {
  const node = known.nodes.get(input.nodeId);
  if (!usable(node)) return { ok: false, skip: true };
  const [job, holder] = await Promise.all([
    readJob(deps, input.jobId),
    input.after ? undefined : readJob(deps, input.behind.jobId),
  ]);
  if (!job || isFinal(job)) return { ok: false, skip: true };
  if (!input.after && (!holder || isFinal(holder))) return { ok: false, skip: true };
  // What the node's agent waits for: the tasks the holder's run puts on this node. A holder with none there (an
  // MPI worker node, whose ranks mpirun starts from the master) gives no exit to wait for: not staged.
  const after = input.after ? [...input.after] : await runTaskIdsOn(deps, holder!, input.behind, input.nodeId, known);
  if (after === undefined || after.length === 0) return { ok: false, skip: true };
  try {
    const rendezvous = await localRendezvousPorts(deps, [node]);
    const allocated = [allocatedNode(node, rendezvous.get(input.nodeId))];
    const planned = planLaunch({
      jobId: jobIdOf(input.jobId),
      uid: job.uid,
      attempt: input.attempt,
      job: job.properties,
      nodes: allocated,
      hostExecution: clusterAllowsHostExecution(known.cluster.properties),
    });
    if (!planned.ok) return { ok: false, unstageable: true };
    const plan = planned.plan;
    const phase = plan.preparation.length > 0 ? 'prepare' : 'run';
    const tasks = phase === 'prepare' ? plan.preparation : plan.tasks;
    if (tasks.some((t) => t.nodeId !== input.nodeId)) return { ok: false, unstageable: true };
    const stamp = stagingStamp(input.at);
    const commands: AgentCommand[] = [];
    for (const task of tasks) {
      const command = await commandFor(deps, job, plan, task, node, { ...input, nodeIds: [input.nodeId], phase });
      commands.push({ ...command, commandId: `${command.commandId}-s${stamp}`, after } as AgentCommand);
    }
    return { ok: true, phase, taskIds: tasks.map((t) => wireTaskId(job.uid, t.taskId)), commands };
  } catch (err) {
    if (
      err instanceof SetupResolutionError ||
      err instanceof JobSecretError ||
      err instanceof RendezvousBlocksExhausted
    ) {
      return { ok: false, unstageable: true };
    }
    throw err;
  }
}

/** The wire ids of the tasks a job's run puts on one of its nodes (its plan is deterministic). */
async function runTaskIdsOn(
  deps: JobRunDeps,
  holder: RunningJobRecord,
  behind: { jobId: string; attempt: number },
  nodeId: string,
  known: KnownForLaunch,
): Promise<string[] | undefined> {
  const attempt = behind.attempt;
  const nodeIds = holder.run?.attempt === attempt ? holder.run.nodeIds : undefined;
  if (!nodeIds) return undefined;
  const records = nodeIds.map((id) => known.nodes.get(id));
  if (records.some((r) => r?.ipAddress === undefined)) return undefined;
  const rendezvous = await localRendezvousPorts(deps, records as NodeRecord[]);
  const planned = planLaunch({
    jobId: jobIdOf(behind.jobId),
    uid: holder.uid,
    attempt,
    job: holder.properties,
    nodes: (records as NodeRecord[]).map((n) => allocatedNode(n, rendezvous.get(`${n.scaleSetName}_${n.instanceId}`))),
    hostExecution: clusterAllowsHostExecution(known.cluster.properties),
  });
  if (!planned.ok) return undefined;
  return planned.plan.tasks.filter((t) => t.nodeId === nodeId).map((t) => wireTaskId(holder.uid, t.taskId));
}

function allocatedNode(n: NodeRecord, rendezvousPort: number | undefined): AllocatedNode {
  return {
    nodeId: `${n.scaleSetName}_${n.instanceId}`,
    ipAddress: n.ipAddress!,
    port: n.port ?? 22,
    gpus: n.gpus ?? 0,
    ...(rendezvousPort !== undefined ? { rendezvousPort } : {}),
  };
}

/**
 * A staged job got its node: marked running (its first start time kept across attempts) and its lifecycle's
 * `launched` result made from what was staged. `start` sends `startStaged` too, for when the holder's tasks may not
 * have exited on the node (it ended otherwise than by all its tasks' exits): the agent starts it at once if it still
 * waits. Returns undefined when the job is over (its own end releases the node).
 */
export async function promoteStagedAttempt(
  deps: JobRunDeps,
  staged: StagedJob,
  options: { start: boolean },
): Promise<Extract<LaunchResult, { ok: true }> | { ok: false; gone: true }> {
  const now = deps.now().toISOString();
  let marked: RunningJobRecord | undefined;
  await deps.store.update(jobIdOf(staged.jobId), (current) => {
    const record = current.record as unknown as RunningJobRecord;
    marked = undefined;
    if (isFinal(record)) return undefined;
    const next = runningRecord(
      record,
      { jobId: staged.jobId, attempt: staged.attempt, nodeIds: [staged.nodeId], phase: 'first' },
      now,
    );
    marked = next ?? record;
    return next ? { ...current, record: next as unknown as Record<string, unknown> } : undefined;
  });
  if (options.start) {
    await toStagedTasks(deps, staged, (taskId, stamp) => ({
      kind: 'startStaged',
      commandId: `${taskId}-g${stamp}`,
    }));
  }
  if (!marked) return { ok: false, gone: true };
  return {
    ok: true,
    phase: staged.phase,
    tasks: staged.taskIds.map((taskId) => ({ nodeId: staged.nodeId, taskId })),
    maxWallClockMs: queuedJobFrom(marked).maxWallClockMs,
    maxWallClockTime: marked.properties.constraints.maxWallClockTime,
    startTime: marked.executionInfo?.startTime ?? now,
  };
}

/** Asks a node's agent to take a staged job back; `kill` also stops it if it has started (the job is over). */
export async function unstageJobAttempt(deps: JobRunDeps, staged: StagedJob, kill: boolean): Promise<void> {
  await toStagedTasks(deps, staged, (taskId, stamp) => ({
    kind: 'unstageTask',
    commandId: `${taskId}-u${stamp}-${kill ? 'cancel' : 'requeue'}`,
    kill,
  }));
}

/** One command per task of a staged job, to the boot it was staged on (ids unique to that staging). */
async function toStagedTasks(
  deps: JobRunDeps,
  staged: StagedJob,
  command: (
    taskId: string,
    stamp: string,
  ) => { kind: 'startStaged'; commandId: string } | { kind: 'unstageTask'; commandId: string; kill: boolean },
): Promise<void> {
  const { scaleSetName, instanceId } = splitNodeId(staged.nodeId);
  const stamp = stagingStamp(staged.stagedAt);
  await Promise.all(
    staged.taskIds.map((taskId) =>
      deps.commands.send(scaleSetName, instanceId, {
        v: AGENT_PROTOCOL_VERSION,
        bootId: staged.bootId,
        jobId: staged.jobId,
        attempt: staged.attempt,
        taskId,
        ...command(taskId, stamp),
      }),
    ),
  );
}
