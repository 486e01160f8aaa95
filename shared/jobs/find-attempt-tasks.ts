import { planLaunch } from '../domain/launch-plans/index.js';
import type { ClusterSchedule } from '../domain/scheduling.js';
import { stagedOf } from '../domain/staging.js';
import { jobIdOf, readJob } from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';
import { wireTaskId } from './launch-job-attempt.js';

// A lifecycle that ends an attempt before it heard of the attempt's nodes (a terminate while queued, a node lost, a
// launch of its own that failed) may have tasks running all the same: the pass that gave the attempt its nodes
// launched its first phase (or the agent started it from staging) before telling the job, and the telling may be
// late or lost (decision 0122). Those tasks are found from the schedule document and the job's plan, so the
// lifecycle stops them before the nodes are given back, as it does the tasks it launched itself.

export interface AttemptTask {
  nodeId: string;
  taskId: string;
}

export interface FindAttemptTasksInput {
  jobId: string;
  clusterId: string;
  attempt: number;
  /** Only this phase's tasks (what a launch of that phase would have started); both when absent. */
  phase?: 'prepare' | 'run';
  /**
   * The job is ending: if it has no allocation, it leaves the queue in the same document write, so no pass can give
   * it nodes (and launch it) after this answer.
   */
  withdraw?: boolean;
}

/**
 * The wire tasks the attempt may run on the nodes the document gives it: none without an allocation; what was
 * staged for one promoted from staging; else its plan's tasks (killing a task that never came is answered at once,
 * and the agent never runs it afterwards).
 */
export async function findAttemptTasks(
  deps: Pick<JobRunDeps, 'schedules' | 'store'>,
  input: FindAttemptTasksInput,
): Promise<AttemptTask[]> {
  const jobKey = input.jobId.toLowerCase();
  const mine = (e: { jobId: string }) => e.jobId.toLowerCase() === jobKey;
  const { result: allocation } = await deps.schedules.update(input.clusterId, (doc: ClusterSchedule) => {
    const held = doc.allocations.find((a) => mine(a) && a.attempt === input.attempt);
    if (held || !input.withdraw || !doc.queue.some(mine)) return { doc, result: held };
    return { doc: { ...doc, queue: doc.queue.filter((q) => !mine(q)) }, result: undefined };
  });
  if (!allocation) return [];
  const staged = stagedOf(allocation);
  if (staged) {
    if (input.phase !== undefined && input.phase !== staged.phase) return [];
    return staged.taskIds.map((taskId) => ({ nodeId: staged.nodeId, taskId }));
  }
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
  const { preparation, tasks } = planned.plan;
  const phaseTasks =
    input.phase === 'prepare' ? preparation : input.phase === 'run' ? tasks : [...preparation, ...tasks];
  return phaseTasks.map((t) => ({ nodeId: t.nodeId, taskId: wireTaskId(job.uid, t.taskId) }));
}
