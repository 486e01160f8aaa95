import type { JobRecord } from '../domain/job-view.js';
import type { BatchAiResourceId, BatchAiResourceKind } from '../domain/resource-id.js';
import type { StoredResource } from '../stores/resource-store.js';
import type { ApiDeps } from './api-deps.js';
import { beginOperation, completeOperation } from './operation-tracker.js';

const CHILD_KINDS: Partial<Record<BatchAiResourceKind, BatchAiResourceKind[]>> = {
  workspace: ['experiment', 'cluster', 'fileServer'],
  experiment: ['job'],
};

/**
 * *_Delete: deletes the resource and everything inside it (an experiment's jobs, a workspace's experiments,
 * clusters and file servers). Jobs still queued or running are told to terminate first. Returns undefined when
 * there was nothing to delete (ARM answers 204 then).
 */
export async function deleteResource(
  deps: ApiDeps,
  id: BatchAiResourceId,
): Promise<{ operationId: string } | undefined> {
  const existing = await deps.store.get(id);
  if (!existing) return undefined;
  const operation = await beginOperation(deps, existing.resourceId, 'delete');
  try {
    await deleteTree(deps, existing);
    await completeOperation(deps, operation.operationId, { status: 'Succeeded' });
  } catch (err) {
    await completeOperation(deps, operation.operationId, {
      status: 'Failed',
      error: { code: 'InternalServerError', message: `deleting ${existing.resourceId} failed; retry the DELETE` },
    });
    throw err;
  }
  return { operationId: operation.operationId };
}

async function deleteTree(deps: ApiDeps, resource: StoredResource): Promise<void> {
  // Mark first, so readers see `deleting` while children go.
  await deps.store.update(resource.id, (current) => ({
    ...current,
    record: {
      ...current.record,
      provisioningState: 'deleting',
      provisioningStateTransitionTime: deps.now().toISOString(),
    },
  }));
  for (const kind of CHILD_KINDS[resource.id.kind] ?? []) {
    for (;;) {
      const page = await deps.store.listChildren(resource.id, kind, { maxItems: 100 });
      for (const child of page.items) await deleteTree(deps, child);
      if (page.items.length === 0) break;
    }
  }
  if (resource.id.kind === 'job') {
    const job = resource.record as unknown as JobRecord;
    if (job.executionState === 'queued' || job.executionState === 'running') {
      // The termination is its own operation: completing it must not complete the delete.
      const termination = await beginOperation(deps, resource.resourceId, 'terminate');
      await deps.lifecycles.terminateJob({ jobId: resource.resourceId, operationId: termination.operationId });
    }
  }
  await deps.store.delete(resource.id);
}
