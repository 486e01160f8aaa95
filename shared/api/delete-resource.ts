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
  if (isCompute(existing)) return deleteCompute(deps, existing);
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

type ComputeKind = 'cluster' | 'fileServer';

/** Clusters and file servers (with a lifecycle: a uid) hold VMs, which their lifecycle removes. */
function isCompute(resource: StoredResource): resource is StoredResource & { id: { kind: ComputeKind } } {
  return (resource.id.kind === 'cluster' || resource.id.kind === 'fileServer') && Boolean(resource.record['uid']);
}

function lifecycleInput(resource: StoredResource, reason: string) {
  return {
    kind: resource.id.kind as ComputeKind,
    resourceId: resource.resourceId,
    uid: String(resource.record['uid']),
    operationId: String(resource.record['operationId'] ?? ''),
    reason,
  };
}

/**
 * A cluster or file server is marked `deleting` and its lifecycle removes the scale set and every node, then the
 * record, and completes the operation. A repeated DELETE returns the same operation.
 */
async function deleteCompute(deps: ApiDeps, resource: StoredResource): Promise<{ operationId: string }> {
  const pending = resource.record['deleteOperationId'];
  if (resource.record['provisioningState'] === 'deleting' && typeof pending === 'string') {
    await deps.lifecycles.computeChanged(lifecycleInput(resource, 'delete requested again'));
    return { operationId: pending };
  }
  const operation = await beginOperation(deps, resource.resourceId, 'delete');
  let operationId = operation.operationId;
  await deps.store.update(resource.id, (current) => {
    const already = current.record['deleteOperationId'];
    if (current.record['provisioningState'] === 'deleting' && typeof already === 'string') {
      operationId = already; // a concurrent DELETE won: report its operation
      return undefined;
    }
    return {
      ...current,
      record: {
        ...current.record,
        provisioningState: 'deleting',
        provisioningStateTransitionTime: deps.now().toISOString(),
        deleteOperationId: operation.operationId,
      },
    };
  });
  await deps.lifecycles.computeChanged(lifecycleInput(resource, 'delete requested'));
  return { operationId };
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
  // Inside a deleted workspace: the record is gone, and the lifecycle's next pass removes its VMs and nodes.
  if (isCompute(resource)) await deps.lifecycles.computeChanged(lifecycleInput(resource, 'workspace deleted'));
}
