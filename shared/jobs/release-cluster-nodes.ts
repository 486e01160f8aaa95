import { nodeIdOf } from '../domain/agent-protocol.js';
import type { JobRunDeps, ReleaseNodesEvent } from './job-run-deps.js';
import { JOB_EVENTS } from './job-run-deps.js';

/**
 * The cluster's nodeDeallocationOption hook: surplus nodes that run jobs are to be released. Each job holding one
 * hears it as an event with the option (requeue | terminate | waitforjobcompletion); the cluster deletes the nodes
 * once they are idle again.
 */
export async function releaseClusterNodes(
  deps: Pick<JobRunDeps, 'schedules' | 'signals'>,
  request: {
    resourceId: string;
    scaleSetName: string;
    instanceIds: string[];
    option: 'requeue' | 'terminate' | 'waitforjobcompletion';
  },
): Promise<void> {
  const going = new Set(request.instanceIds.map((i) => nodeIdOf(request.scaleSetName, i)));
  const schedule = await deps.schedules.read(request.resourceId);
  const holders = schedule.allocations.filter((a) => a.nodeIds.some((n) => going.has(n)));
  await Promise.all(
    holders.map((a) =>
      deps.signals.jobEvent(a.jobId, JOB_EVENTS.releaseNodes, {
        jobId: a.jobId,
        attempt: a.attempt,
        option: request.option,
      } satisfies ReleaseNodesEvent),
    ),
  );
}
