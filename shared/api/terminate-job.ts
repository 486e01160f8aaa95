import type { JobRecord } from '../domain/job-view.js';
import type { JobResourceId } from '../domain/resource-id.js';
import type { ApiDeps } from './api-deps.js';
import { beginOperation, completeOperation } from './operation-tracker.js';
import { mustGet } from './records.js';

type TerminableJob = JobRecord & { terminateOperationId?: string };
type Decision = { kind: 'started' } | { kind: 'finished' } | { kind: 'pending'; operationId: string };

const isFinal = (job: JobRecord) => job.executionState === 'succeeded' || job.executionState === 'failed';

/**
 * Jobs_Terminate: a queued or running job moves to `terminating` and its lifecycle stops it. Terminating a job
 * that already finished changes nothing and succeeds at once; a retried terminate gets the pending operation.
 */
export async function terminateJob(deps: ApiDeps, id: JobResourceId): Promise<{ operationId: string }> {
  const existing = await mustGet(deps.store, id);
  const job = existing.record as unknown as TerminableJob;
  if (isFinal(job)) {
    const done = await beginOperation(deps, existing.resourceId, 'terminate', 'Succeeded');
    return { operationId: done.operationId };
  }
  if (job.executionState === 'terminating' && job.terminateOperationId)
    return { operationId: job.terminateOperationId };

  const operation = await beginOperation(deps, existing.resourceId, 'terminate');
  // Decided under If-Match: the job may have finished, or another terminate may have won, since we read it.
  let decision = { kind: 'started' } as Decision;
  await deps.store.update(id, (current) => {
    const record = current.record as unknown as TerminableJob;
    if (isFinal(record)) {
      decision = { kind: 'finished' };
      return undefined;
    }
    if (record.executionState === 'terminating' && record.terminateOperationId) {
      decision = { kind: 'pending', operationId: record.terminateOperationId };
      return undefined;
    }
    decision = { kind: 'started' };
    const now = deps.now().toISOString();
    return {
      ...current,
      record: {
        ...current.record,
        executionState: 'terminating',
        executionStateTransitionTime: now,
        terminateOperationId: operation.operationId,
      },
    };
  });
  if (decision.kind !== 'started') {
    await completeOperation(deps, operation.operationId, { status: 'Succeeded' });
    return { operationId: decision.kind === 'pending' ? decision.operationId : operation.operationId };
  }
  await deps.lifecycles.terminateJob({ jobId: existing.resourceId, operationId: operation.operationId });
  return { operationId: operation.operationId };
}
