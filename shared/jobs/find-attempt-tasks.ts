import { planLaunch } from '../domain/launch-plans/index.js';
import { stagedOf } from '../domain/staging.js';
import { jobIdOf, readJob } from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';
import { wireTaskId } from './launch-job-attempt.js';

// A lifecycle that ends an attempt while it still waits in the queue (a terminate, a node lost) may have tasks
// running all the same: the pass that gave the attempt its nodes launched its first phase (or the agent started it
// from staging) before telling the job, and the telling may be late or lost (decision 0122). Those tasks are found
// from the schedule document and the job's plan, so the lifecycle stops them before the nodes are given back, as it
// does the tasks it launched itself.

export interface AttemptTask {
  nodeId: string;
  taskId: string;
}

/**
 * The wire tasks the attempt may run on the nodes the document gives it: none without an allocation; what was
 * staged for one promoted from staging; else every task of its plan (preparation and run: killing a task that
 * never came is answered at once, and the agent will never run it).
 */
export async function findAttemptTasks(
  deps: Pick<JobRunDeps, 'schedules' | 'store'>,
  input: { jobId: string; clusterId: string; attempt: number },
): Promise<AttemptTask[]> {
  const doc = await deps.schedules.read(input.clusterId);
  const jobKey = input.jobId.toLowerCase();
  const allocation = doc.allocations.find((a) => a.jobId.toLowerCase() === jobKey && a.attempt === input.attempt);
  if (!allocation) return [];
  const staged = stagedOf(allocation);
  if (staged) return staged.taskIds.map((taskId) => ({ nodeId: staged.nodeId, taskId }));
  const job = await readJob(deps, input.jobId);
  if (!job?.uid) return [];
  // Task ids and the nodes they go to follow from the job and the order of its nodes alone, not the nodes'
  // addresses or GPUs (launch-plans): the plan is made without reading the nodes, some of which may be gone, each
  // given an address of its own (nodes sharing one would need distinct rendezvous ports).
  const planned = planLaunch({
    jobId: jobIdOf(input.jobId),
    uid: job.uid,
    attempt: input.attempt,
    job: job.properties,
    nodes: allocation.nodeIds.map((nodeId, i) => ({
      nodeId,
      ipAddress: `198.18.${Math.floor(i / 256) % 256}.${i % 256}`,
      port: 22,
      gpus: 0,
    })),
  });
  if (!planned.ok) return [];
  return [...planned.plan.preparation, ...planned.plan.tasks].map((t) => ({
    nodeId: t.nodeId,
    taskId: wireTaskId(job.uid, t.taskId),
  }));
}
