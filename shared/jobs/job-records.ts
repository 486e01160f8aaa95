import { nodeIdOf } from '../domain/agent-protocol.js';
import type { JobRecord } from '../domain/job-view.js';
import { withNodeState } from '../domain/nodes.js';
import { type JobResourceId, parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import type { FailureCounts } from '../domain/retry-policy.js';
import type { JobRunDeps } from './job-run-deps.js';

// Helpers shared by the job-run operations: the stored job with what its lifecycle adds, and node ids.

/** What the lifecycle keeps on the job's record besides the API fields (never shown as is). */
export interface RunningJobRecord extends JobRecord {
  /** The attempt holding nodes now, and which (listRemoteLoginInformation reports them). */
  run?: { attempt: number; nodeIds: string[] };
  terminateOperationId?: string;
  /** Attempts that ended early (lost nodes, or the job's own failure under a retry policy): `x-batchai-attempts`. */
  attempts?: AttemptRecord[];
  /** Failures counted against a cap so far (unbounded, unlike the attempts kept). */
  failureCounts?: FailureCounts;
}

export interface AttemptRecord {
  attempt: number;
  /** 'infrastructure': the job lost its nodes (not its fault); 'job': it failed on its own (retry policy). */
  kind: 'infrastructure' | 'job';
  /** NodePreempted | NodeHostCrashed | NodeLost | NodesReleased, or JobFailed (docs/decisions/0105). */
  code: string;
  message: string;
  endTime: string;
  /** Whether it counted against a cap: the infrastructure cap, or the retry policy's maxRetries. */
  countsAgainstCap?: boolean;
  /** What followed: the next attempt was queued, or the job failed. */
  outcome?: 'requeued' | 'failed';
  /** The job's exit code (kind 'job'). */
  exitCode?: number;
  /** The next attempt could not start before this time (back-off after a capped infrastructure failure). */
  retryNotBefore?: string;
}

/** Kept attempts per job: the newest ones (history stays bounded even for a job requeued many times). */
export const MAX_ATTEMPT_RECORDS = 20;

export function jobIdOf(jobId: string): JobResourceId {
  const parsed = parseBatchAiResourceIdOf('job', jobId);
  if (!parsed.ok) throw new Error(`not a job id: ${jobId} (${parsed.reason})`);
  return parsed.value;
}

export async function readJob(deps: Pick<JobRunDeps, 'store'>, jobId: string): Promise<RunningJobRecord | undefined> {
  const stored = await deps.store.get(jobIdOf(jobId));
  return stored?.record as unknown as RunningJobRecord | undefined;
}

export const isFinal = (job: Pick<JobRecord, 'executionState'>) =>
  job.executionState === 'succeeded' || job.executionState === 'failed';

/** `<scaleSet>_<instanceId>` → its parts (the scale-set name has no `_`: it is made of the uid). */
export function splitNodeId(nodeId: string): { scaleSetName: string; instanceId: string } {
  const at = nodeId.lastIndexOf('_');
  return { scaleSetName: nodeId.slice(0, at), instanceId: nodeId.slice(at + 1) };
}

export { nodeIdOf };

/**
 * Nodes given back: those still marked running become idle (a lost node keeps its state), or `leaving` when the
 * cluster released them to remove them (so no pass hands them out again before the cluster deletes them): asked
 * by the caller, or asked of the node earlier (`releaseRequested`: a resize waiting for its job to complete). The
 * cluster's lifecycle is told about nodes that became `leaving`, so it deletes them now.
 */
export async function markNodesIdle(
  deps: Pick<JobRunDeps, 'nodes' | 'now' | 'signals'>,
  nodeIds: readonly string[],
  state: 'idle' | 'leaving' = 'idle',
) {
  const now = deps.now().toISOString();
  const leaving = new Set<string>();
  await Promise.all(
    nodeIds.map(async (nodeId) => {
      const { scaleSetName, instanceId } = splitNodeId(nodeId);
      const { node, changed } = await deps.nodes.update(scaleSetName, instanceId, (current) =>
        current && current.state === 'running'
          ? withNodeState(current, current.releaseRequested ? 'leaving' : state, now)
          : undefined,
      );
      if (changed && node?.state === 'leaving' && state === 'idle') leaving.add(node.resourceId);
    }),
  );
  for (const clusterId of leaving) await deps.signals.clusterChanged(clusterId, 'released nodes are free');
}
