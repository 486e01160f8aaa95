import type { AgentCommand, MountSpec, SealedForNode } from '../domain/agent-protocol.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import {
  type AllocatedNode,
  clusterAllowsHostExecution,
  type LaunchPlan,
  type PlannedTask,
  planLaunch,
  runTaskCommand,
} from '../domain/launch-plans/index.js';
import type { NodeRecord } from '../domain/nodes.js';
import { parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import type { BatchAiError } from '../domain/resource-states.js';
import { queuedJobFrom } from '../domain/scheduling.js';
import { resolveMounts, SetupResolutionError } from '../nodes/resolve-node-setup.js';
import { sealForNode } from '../secrets/seal-for-node.js';
import { assignRendezvousPorts, RendezvousBlocksExhausted } from './assign-rendezvous-ports.js';
import { isFinal, jobIdOf, type RunningJobRecord, readJob, splitNodeId } from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';

// Starting one attempt of a job on the nodes it was given: the launch plan (pure) made into runTask commands, each
// addressed to the node's current boot with the job's secrets and mount keys sealed for that boot, sent to each
// node's own queue. Phase 'prepare' sends the job's jobPreparation (one task per node); phase 'run' the job's
// processes. The plan is deterministic, so both phases re-derive it from the stored job instead of carrying it.
// Command ids are derived from (job uid, attempt, task), so a retried activity sends nothing twice to the agent.

export interface LaunchInput {
  jobId: string;
  attempt: number;
  nodeIds: string[];
  /** 'first': the job's preparation if it has one, else its run (what a scheduler pass launches right away). */
  phase: 'prepare' | 'run' | 'first';
}

export type LaunchResult =
  | {
      ok: true;
      /** The phase that was launched. */
      phase: 'prepare' | 'run';
      tasks: Array<{ nodeId: string; taskId: string }>;
      /** The job's maxWallClockTime: the lifecycle's durable timer. */
      maxWallClockMs: number;
      maxWallClockTime: string;
      startTime: string;
    }
  | { ok: false; gone: true }
  | { ok: false; lostNodeId: string }
  | { ok: false; error: BatchAiError };

/**
 * What a scheduling pass already read when it launches the jobs it started: the cluster and its nodes. Passing
 * them saves a launch three Cosmos reads (the node list is from just before the pass's document write; a node that
 * rebooted since then is reported lost by a later pass, as one that reboots right after a launch is).
 */
export interface KnownForLaunch {
  cluster: ClusterRecord;
  nodes: ReadonlyMap<string, NodeRecord>;
}

export async function launchJobAttempt(
  deps: JobRunDeps,
  input: LaunchInput,
  known?: KnownForLaunch,
): Promise<LaunchResult> {
  let cluster: ClusterRecord | undefined;
  let nodeRecords: Array<NodeRecord | undefined>;
  if (known && input.nodeIds.every((id) => usable(known.nodes.get(id)))) {
    cluster = known.cluster;
    nodeRecords = input.nodeIds.map((id) => known.nodes.get(id));
  } else {
    const job = await readJob(deps, input.jobId);
    if (!job || isFinal(job)) return { ok: false, gone: true };
    const clusterRef = parseBatchAiResourceIdOf('cluster', job.properties.cluster.id);
    const [storedCluster, fresh] = await Promise.all([
      clusterRef.ok ? deps.store.get(clusterRef.value) : undefined,
      Promise.all(
        input.nodeIds.map((nodeId) => {
          const { scaleSetName, instanceId } = splitNodeId(nodeId);
          return deps.nodes.get(scaleSetName, instanceId);
        }),
      ),
    ]);
    cluster = storedCluster?.record as unknown as ClusterRecord | undefined;
    if (!cluster) {
      return {
        ok: false,
        error: { code: 'ClusterNotFound', message: `The cluster ${job.properties.cluster.id} is gone.` },
      };
    }
    nodeRecords = fresh;
  }
  const records: NodeRecord[] = [];
  for (const [i, nodeId] of input.nodeIds.entries()) {
    const node = nodeRecords[i];
    if (!usable(node)) return { ok: false, lostNodeId: nodeId };
    records.push(node);
  }
  let rendezvous: Map<string, number>;
  try {
    rendezvous = await localRendezvousPorts(deps, records);
  } catch (err) {
    if (err instanceof RendezvousBlocksExhausted) return { ok: false, error: { code: err.code, message: err.message } };
    throw err;
  }
  const allocated: AllocatedNode[] = records.map((n) => ({
    nodeId: `${n.scaleSetName}_${n.instanceId}`,
    ipAddress: n.ipAddress!,
    port: n.port ?? 22,
    gpus: n.gpus ?? 0,
    ...(rendezvous.has(`${n.scaleSetName}_${n.instanceId}`)
      ? { rendezvousPort: rendezvous.get(`${n.scaleSetName}_${n.instanceId}`)! }
      : {}),
  }));
  const hostExecution = clusterAllowsHostExecution(cluster.properties);
  // One read-modify-write of the job: the plan is made from the record it replaces, and the job is marked running
  // only if the plan holds (a job that cannot start fails without a start time).
  const now = deps.now().toISOString();
  let outcome: { job: RunningJobRecord; plan: LaunchPlan; startTime: string } | { error: BatchAiError } | undefined;
  await deps.store.update(jobIdOf(input.jobId), (current) => {
    const record = current.record as unknown as RunningJobRecord;
    outcome = undefined;
    if (isFinal(record)) return undefined;
    const planned = planLaunch({
      jobId: jobIdOf(input.jobId),
      uid: record.uid,
      attempt: input.attempt,
      job: record.properties,
      nodes: allocated,
      hostExecution,
    });
    if (!planned.ok) {
      outcome = { error: planned.error };
      return undefined;
    }
    const next = runningRecord(record, input, now);
    outcome = {
      job: next ?? record,
      plan: planned.plan,
      startTime: (next ?? record).executionInfo?.startTime ?? now,
    };
    return next ? { ...current, record: next as unknown as Record<string, unknown> } : undefined;
  });
  if (!outcome) return { ok: false, gone: true };
  if ('error' in outcome) return { ok: false, error: outcome.error };
  const { job, plan, startTime } = outcome;

  const phase = input.phase === 'first' ? (plan.preparation.length > 0 ? 'prepare' : 'run') : input.phase;
  const tasks = phase === 'prepare' ? plan.preparation : plan.tasks;
  try {
    const byNode = new Map(records.map((n) => [`${n.scaleSetName}_${n.instanceId}`, n]));
    const commands = [];
    for (const task of tasks) {
      const node = byNode.get(task.nodeId)!;
      commands.push({ node, command: await commandFor(deps, job, plan, task, node, input) });
    }
    await Promise.all(commands.map((c) => deps.commands.send(c.node.scaleSetName, c.node.instanceId, c.command)));
  } catch (err) {
    if (err instanceof SetupResolutionError || err instanceof JobSecretError) {
      return {
        ok: false,
        error: { code: err instanceof JobSecretError ? 'JobSecretUnavailable' : err.code, message: err.message },
      };
    }
    throw err;
  }
  return {
    ok: true,
    phase,
    tasks: tasks.map((t) => ({ nodeId: t.nodeId, taskId: wireTaskId(job.uid, t.taskId) })),
    maxWallClockMs: queuedJobFrom(job).maxWallClockMs,
    maxWallClockTime: job.properties.constraints.maxWallClockTime,
    startTime,
  };
}

/**
 * The task id on the wire is `<job uid>.<task>`: the agent echoes it in taskExited, so the event is routed to the
 * job's lifecycle (instance `job-<uid>`) without a lookup, even after the job's record was deleted.
 */
export const wireTaskId = (uid: string, taskId: string): string => `${uid}.${taskId}`;

/** The job uid and plan task id of a wire task id; undefined for ids that are not ours. */
export function parseWireTaskId(taskId: string): { uid: string; taskId: string } | undefined {
  const dot = taskId.indexOf('.');
  return dot > 0 ? { uid: taskId.slice(0, dot), taskId: taskId.slice(dot + 1) } : undefined;
}

export class JobSecretError extends Error {}

export async function commandFor(
  deps: JobRunDeps,
  job: RunningJobRecord,
  plan: LaunchPlan,
  task: PlannedTask,
  node: NodeRecord,
  input: LaunchInput,
): Promise<AgentCommand> {
  const key = node.publicKey!;
  const seal = (sealed: string | undefined): SealedForNode | undefined =>
    sealed ? sealForNode(key, deps.secrets.open(sealed)) : undefined;
  const sealedSecrets = new Map<string, SealedForNode>();
  for (const secret of job.properties.secrets ?? []) {
    if (!task.secretNames.includes(secret.name)) continue;
    if (!secret.value) {
      throw new JobSecretError(
        `The secret ${secret.name} is a Key Vault reference; this deployment resolves only inline secret values.`,
      );
    }
    sealedSecrets.set(secret.name, seal(secret.value)!);
  }
  const mounts: MountSpec[] = await resolveMounts(deps, job.properties.mountVolumes, seal);
  // Batch AI created the output directories before the job ran; scripts rely on it (`> $AZ_BATCHAI_OUTPUT_X/f`).
  const outputs = (job.properties.outputDirectories ?? []).map((d) => `"$AZ_BATCHAI_OUTPUT_${d.id}"`);
  const withOutputs =
    outputs.length > 0
      ? { ...task, commandLine: `mkdir -p -- ${outputs.join(' ')} || exit 1\n${task.commandLine}` }
      : task;
  const base = runTaskCommand(
    withOutputs,
    {
      jobId: input.jobId,
      attempt: input.attempt,
      bootId: node.bootId!,
      commandId: `${job.uid}-${input.attempt}-${task.taskId}`,
    },
    sealedSecrets,
  );
  const container =
    plan.execution.mode === 'container'
      ? {
          image: plan.execution.container.image,
          ...(plan.execution.container.serverUrl ? { serverUrl: plan.execution.container.serverUrl } : {}),
          ...(plan.execution.container.username ? { username: plan.execution.container.username } : {}),
          ...(job.properties.containerSettings?.imageSourceRegistry.credentials?.password
            ? { password: seal(job.properties.containerSettings.imageSourceRegistry.credentials.password)! }
            : {}),
          ...(plan.execution.container.shmSize ? { shmSize: plan.execution.container.shmSize } : {}),
        }
      : undefined;
  return {
    ...base,
    taskId: wireTaskId(job.uid, task.taskId),
    ...(mounts.length > 0 ? { mounts } : {}),
    ...(container ? { container } : {}),
  };
}

/**
 * The job running this attempt on these nodes (its first start time kept across attempts), or undefined when the
 * record says so already.
 */
export function runningRecord(record: RunningJobRecord, input: LaunchInput, now: string): RunningJobRecord | undefined {
  const startTime = record.executionInfo?.startTime ?? now;
  const sameRun = record.run?.attempt === input.attempt && record.executionState !== 'queued';
  if (sameRun && record.executionInfo?.startTime) return undefined;
  const next: RunningJobRecord = {
    ...record,
    run: { attempt: input.attempt, nodeIds: input.nodeIds },
    executionInfo: { ...(record.executionInfo ?? {}), startTime },
  };
  if (record.executionState === 'queued') {
    next.executionState = 'running';
    next.executionStateTransitionTime = now;
  }
  return next;
}

/** A node a launch can address: registered (boot and key known), with an address, and not on its way out. */
export function usable(node: NodeRecord | undefined): node is NodeRecord {
  return (
    !!node?.bootId && !!node.publicKey && !!node.ipAddress && node.state !== 'unusable' && node.state !== 'leaving'
  );
}

const isLoopback = (ip: string) => ip === '127.0.0.1' || ip === '::1' || ip === 'localhost';

/**
 * Locally every node is 127.0.0.1, so each needs its own block of rendezvous ports (decision 0063): assigned once
 * per node from the deployment's block table and kept in its node record. On Azure every node has its own address
 * and the frameworks' customary ports are used.
 */
export async function localRendezvousPorts(
  deps: JobRunDeps,
  records: readonly NodeRecord[],
): Promise<Map<string, number>> {
  const shared = records.filter((n) => isLoopback(n.ipAddress!));
  if (shared.length === 0) return new Map();
  const assigned = await assignRendezvousPorts(deps, shared);
  return new Map(assigned.map((n) => [`${n.scaleSetName}_${n.instanceId}`, n.rendezvousPort!]));
}
