import { AGENT_PROTOCOL_VERSION } from '../domain/agent-protocol.js';
import { splitNodeId } from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';

/** killTask to each task's node, addressed to the node's current boot (a node that is gone has nothing to kill). */
export async function killJobTasks(
  deps: Pick<JobRunDeps, 'nodes' | 'commands'>,
  input: { jobId: string; attempt: number; uid: string; tasks: Array<{ nodeId: string; taskId: string }> },
): Promise<void> {
  await Promise.all(
    input.tasks.map(async (task) => {
      const { scaleSetName, instanceId } = splitNodeId(task.nodeId);
      const node = await deps.nodes.get(scaleSetName, instanceId);
      if (!node?.bootId) return;
      await deps.commands.send(scaleSetName, instanceId, {
        v: AGENT_PROTOCOL_VERSION,
        kind: 'killTask',
        bootId: node.bootId,
        commandId: `kill-${input.uid}-${input.attempt}-${task.taskId}`,
        jobId: input.jobId,
        attempt: input.attempt,
        taskId: task.taskId,
      });
    }),
  );
}
