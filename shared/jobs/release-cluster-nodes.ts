import { nodeIdOf } from '../domain/agent-protocol.js';
import type { JobRunDeps, ReleaseNodesEvent } from './job-run-deps.js';
import { JOB_EVENTS } from './job-run-deps.js';

/**
 * The cluster's nodeDeallocationOption hook: surplus nodes that run jobs are to be released. Each node is marked
 * `releaseRequested` first, so that whatever ends its job (the release itself, or the job completing under
 * `waitforjobcompletion`) gives it back as `leaving`, never `idle`: no new job is scheduled on it. Each job holding
 * one then hears the option as an event (requeue and terminate stop it now; waitforjobcompletion lets it run).
 * A node whose job ended in the meantime is already free: the cluster is told to look again and removes it.
 */
export async function releaseClusterNodes(
  deps: Pick<JobRunDeps, 'schedules' | 'signals' | 'nodes'>,
  request: {
    resourceId: string;
    scaleSetName: string;
    instanceIds: string[];
    option: 'requeue' | 'terminate' | 'waitforjobcompletion';
  },
): Promise<void> {
  const going = new Set(request.instanceIds.map((i) => nodeIdOf(request.scaleSetName, i)));
  const marked = await Promise.all(
    request.instanceIds.map((instanceId) =>
      deps.nodes.update(request.scaleSetName, instanceId, (current) =>
        current?.state === 'running' && !current.releaseRequested ? { ...current, releaseRequested: true } : undefined,
      ),
    ),
  );
  if (marked.some((m) => m.node?.state !== 'running')) {
    await deps.signals.clusterChanged(request.resourceId, 'a node to release is no longer running');
  }
  // A job staged on a released node is asked back by the next pass: run it now, before the node's job ends.
  await deps.signals.scheduleChanged(request.resourceId);
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
