import type { JobRecord } from '../domain/job-view.js';
import type { JobResourceId } from '../domain/resource-id.js';
import type { ApiDeps } from './api-deps.js';
import { beginOperation, completeOperation } from './operation-tracker.js';
import { mustGet } from './records.js';

/**
 * Jobs_Terminate: a queued or running job moves to `terminating` and its lifecycle stops it; terminating a job
 * that already finished changes nothing and succeeds at once.
 */
export async function terminateJob(deps: ApiDeps, id: JobResourceId): Promise<{ operationId: string }> {
  const existing = await mustGet(deps.store, id);
  const job = existing.record as unknown as JobRecord;
  if (job.executionState === 'succeeded' || job.executionState === 'failed') {
    const done = await beginOperation(deps, existing.resourceId, 'terminate', 'Succeeded');
    return { operationId: done.operationId };
  }
  const operation = await beginOperation(deps, existing.resourceId, 'terminate');
  await deps.store.update(id, (current) => {
    const record = current.record as unknown as JobRecord;
    if (record.executionState === 'terminating') return undefined;
    const now = deps.now().toISOString();
    return {
      ...current,
      record: { ...current.record, executionState: 'terminating', executionStateTransitionTime: now },
    };
  });
  await deps.lifecycles.terminateJob({ jobId: existing.resourceId, operationId: operation.operationId });
  return { operationId: operation.operationId };
}
