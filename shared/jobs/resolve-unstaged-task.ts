import { nodeIdOf } from '../domain/agent-protocol.js';
import { resolveUnstaged } from '../domain/staging.js';
import type { JobRunDeps } from './job-run-deps.js';

// An agent's answer to `unstageTask` (decision 0120): the staged job either goes back to the queue (it never ran),
// is gone (its job ended, and the task is certainly stopped), or runs on and is promoted once its node is free.
// Either way the node may be free now: the cluster's scheduler runs a pass.

export interface UnstagedAnswer {
  clusterId: string;
  scaleSetName: string;
  instanceId: string;
  jobId: string;
  attempt: number;
  outcome: 'dropped' | 'started';
}

export async function resolveUnstagedTask(
  deps: Pick<JobRunDeps, 'schedules' | 'signals'>,
  answer: UnstagedAnswer,
): Promise<void> {
  const nodeId = nodeIdOf(answer.scaleSetName, answer.instanceId);
  const { result: changed } = await deps.schedules.update(answer.clusterId, (current) => {
    const doc = resolveUnstaged(current, { ...answer, nodeId });
    return { doc, result: doc !== current };
  });
  if (changed) await deps.signals.scheduleChanged(answer.clusterId);
}
