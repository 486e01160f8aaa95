import type { JobRecord } from '../domain/job-view.js';
import { parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import type { ApiDeps } from './api-deps.js';
import { completeOperation } from './operation-tracker.js';

// State changes a job's lifecycle makes, written so that running one twice (activities are at-least-once)
// changes nothing the second time.

export type TransitionDeps = Pick<ApiDeps, 'store' | 'operations' | 'now'>;

function jobIdOf(jobId: string) {
  const parsed = parseBatchAiResourceIdOf('job', jobId);
  if (!parsed.ok) throw new Error(`not a job id: ${jobId} (${parsed.reason})`);
  return parsed.value;
}

/** The job is accepted: provisioning is done and it waits in the queue. Completes the create operation. */
export async function markJobProvisioned(deps: TransitionDeps, input: { jobId: string; operationId: string }) {
  await deps.store.update(jobIdOf(input.jobId), (current) => {
    const job = current.record as unknown as JobRecord;
    if (job.provisioningState !== 'creating') return undefined;
    const now = deps.now().toISOString();
    return {
      ...current,
      record: { ...current.record, provisioningState: 'succeeded', provisioningStateTransitionTime: now },
    };
  });
  await completeOperation(deps, input.operationId, { status: 'Succeeded' });
}

/** A user's terminate took effect: the job ends as failed with a JobTerminated error. */
export async function finishJobTermination(deps: TransitionDeps, input: { jobId: string; operationId: string }) {
  await deps.store.update(jobIdOf(input.jobId), (current) => {
    const job = current.record as unknown as JobRecord;
    if (job.executionState === 'succeeded' || job.executionState === 'failed') return undefined;
    const now = deps.now().toISOString();
    const executionInfo = {
      ...(job.executionInfo ?? {}),
      endTime: now,
      errors: [{ code: 'JobTerminated', message: 'The job was terminated by a user.' }],
    };
    return {
      ...current,
      record: { ...current.record, executionState: 'failed', executionStateTransitionTime: now, executionInfo },
    };
  });
  await completeOperation(deps, input.operationId, { status: 'Succeeded' });
}
