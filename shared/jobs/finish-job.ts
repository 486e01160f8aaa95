import { completeOperation } from '../api/operation-tracker.js';
import type { BatchAiError } from '../domain/resource-states.js';
import { release } from '../domain/scheduling.js';
import { cancelStaged } from '../domain/staging.js';
import { isFinal, jobIdOf, markNodesIdle, type RunningJobRecord } from './job-records.js';
import type { JobRunDeps } from './job-run-deps.js';
import { scheduleCluster } from './schedule-cluster.js';
import { unstageJobAttempt } from './stage-job-attempt.js';

// The end of a job, whatever ended it: the final state with executionInfo in Batch AI's shape (startTime, endTime,
// exitCode, errors), its nodes given back (schedule released, nodes idle), and the next job started on them. A job
// deleted meanwhile only gets its nodes back. Idempotent.
// The next job is started by a scheduling pass run right here (decision 0090), which also gives the job's nodes
// back in its one document write: waking the cluster's scheduler orchestration costs an event, an episode and an
// activity dispatch per job, which was most of a short job's gap. The pass follows the same If-Match rules as the
// scheduler's own, so concurrent passes never share a node; the scheduler is still woken as the backstop when the
// pass cannot run, when nodes come back idle, and when they leave with a resize.

export interface FinishJobInput {
  jobId: string;
  clusterId: string;
  outcome: 'succeeded' | 'failed' | 'terminated';
  exitCode?: number;
  errors?: BatchAiError[];
  /** The terminate operation to complete (a user's terminate or a delete). */
  operationId?: string;
}

/** `autoScale` when the pass saw the cluster: false means no demand to signal (a fixed-size cluster). */
export async function finishJob(deps: JobRunDeps, input: FinishJobInput): Promise<{ autoScale?: boolean }> {
  const now = deps.now().toISOString();
  let terminateOperationId = input.operationId;
  const released = input.errors?.some((e) => e.code === 'NodesReleased') === true;
  // The nodes go to the next job while the final state is written: the two are independent documents.
  const pass = released
    ? undefined
    : scheduleCluster(deps, input.clusterId, { jobId: input.jobId, outcome: input.outcome }).catch(() => undefined);
  try {
    await deps.store.update(jobIdOf(input.jobId), (current) => {
      const job = current.record as unknown as RunningJobRecord;
      terminateOperationId ??= job.terminateOperationId;
      if (isFinal(job)) return undefined;
      const errors =
        input.outcome === 'terminated'
          ? [{ code: 'JobTerminated', message: 'The job was terminated by a user.' }]
          : input.errors;
      const { run: _run, ...rest } = job;
      const next: RunningJobRecord = {
        ...rest,
        executionState: input.outcome === 'succeeded' ? 'succeeded' : 'failed',
        executionStateTransitionTime: now,
        executionInfo: {
          ...(job.executionInfo ?? {}),
          endTime: now,
          ...(input.exitCode !== undefined ? { exitCode: input.exitCode } : {}),
          ...(errors && errors.length > 0 ? { errors } : {}),
        },
      };
      return { ...current, record: next as unknown as Record<string, unknown> };
    });
  } catch (err) {
    // Deleted under us (a delete terminates first, then removes the record): only the nodes matter now.
    if ((err as { code?: string; statusCode?: number }).statusCode !== 404 && !/not found|404/i.test(String(err))) {
      throw err;
    }
  }
  const handedOver = await pass;
  if (handedOver?.finished) {
    // Nodes that came back idle: a job queued while this pass ran may have looked at them still running.
    if ((handedOver.idled ?? 0) > 0) await deps.signals.scheduleChanged(input.clusterId);
  } else {
    // No pass ran (it failed, the cluster is going, or the nodes leave with a resize): give the nodes back here
    // and let the cluster's scheduler, with its retries, take it from there.
    const { result: held } = await deps.schedules.update(input.clusterId, (current) => {
      const mine = current.allocations.filter((a) => a.jobId.toLowerCase() === input.jobId.toLowerCase());
      let doc = current;
      for (const a of mine) doc = release(doc, a.jobId);
      for (const q of current.queue.filter((q) => q.jobId.toLowerCase() === input.jobId.toLowerCase())) {
        doc = release(doc, q.jobId);
      }
      const cancelling = cancelStaged(doc, input.jobId);
      return {
        doc: cancelling.doc,
        result: { nodeIds: mine.flatMap((a) => a.nodeIds), cancelled: cancelling.cancelled },
      };
    });
    await Promise.all(held.cancelled.map((s) => unstageJobAttempt(deps, s, true)));
    await markNodesIdle(deps, held.nodeIds, released ? 'leaving' : 'idle');
    await deps.signals.scheduleChanged(input.clusterId);
  }
  if (released) await deps.signals.clusterChanged(input.clusterId, `nodes released by job ${input.jobId}`);
  if (terminateOperationId) await completeOperation(deps, terminateOperationId, { status: 'Succeeded' });
  return handedOver?.autoScale === undefined ? {} : { autoScale: handedOver.autoScale };
}
