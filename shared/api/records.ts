import { createApiError } from '../domain/api-errors.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import { clusterView } from '../domain/cluster-view.js';
import type { FileServerRecord } from '../domain/file-server-view.js';
import { fileServerView } from '../domain/file-server-view.js';
import type { JobRecord } from '../domain/job-view.js';
import { jobView } from '../domain/job-view.js';
import type { BatchAiResourceId, BatchAiResourceKind } from '../domain/resource-id.js';
import { batchAiResourceName, RESOURCE_DESCRIPTIONS } from '../domain/resource-id.js';
import type { ExperimentRecord, WorkspaceRecord } from '../domain/workspace-view.js';
import { experimentView, workspaceView } from '../domain/workspace-view.js';
import type { StoredResource } from '../stores/resource-store.js';

export interface RecordByKind {
  workspace: WorkspaceRecord;
  experiment: ExperimentRecord;
  job: JobRecord;
  cluster: ClusterRecord;
  fileServer: FileServerRecord;
}

export type AnyRecord = RecordByKind[BatchAiResourceKind];

const VIEWS: { [K in BatchAiResourceKind]: (record: RecordByKind[K]) => { id: string } } = {
  workspace: workspaceView,
  experiment: experimentView,
  job: jobView,
  cluster: clusterView,
  fileServer: fileServerView,
};

/** The GET representation of a stored resource; views never include secret values. */
export function viewOf(stored: StoredResource): Record<string, unknown> {
  const view = (VIEWS[stored.id.kind] as (record: AnyRecord) => { id: string })(stored.record as unknown as AnyRecord);
  // ARM keeps the casing of names as created; the id in the record is the canonical spelling.
  return { ...view, id: stored.resourceId };
}

export function notFound(id: BatchAiResourceId) {
  return createApiError('ResourceNotFound', { type: typeNoun(id.kind), name: batchAiResourceName(id) });
}

export function typeNoun(kind: BatchAiResourceKind): string {
  return RESOURCE_DESCRIPTIONS[kind].replace(/^an? /, '');
}

/** Read a resource or fail with 404. */
export async function mustGet(
  store: { get(id: BatchAiResourceId): Promise<StoredResource | undefined> },
  id: BatchAiResourceId,
): Promise<StoredResource> {
  const found = await store.get(id);
  if (!found) throw notFound(id);
  return found;
}

/** The parents a resource needs: a workspace for everything below it, an experiment for jobs. */
export async function requireParents(
  store: { get(id: BatchAiResourceId): Promise<StoredResource | undefined> },
  id: BatchAiResourceId,
): Promise<void> {
  if (id.kind === 'workspace') return;
  const workspace = {
    kind: 'workspace' as const,
    subscriptionId: id.subscriptionId,
    resourceGroup: id.resourceGroup,
    workspace: id.workspace,
  };
  const parents: BatchAiResourceId[] = [workspace];
  if (id.kind === 'job') parents.push({ ...workspace, kind: 'experiment', experiment: id.experiment });
  for (const parentId of parents) {
    const parent = await store.get(parentId);
    if (!parent) {
      throw createApiError('ParentResourceNotFound', {
        type: typeNoun(parentId.kind),
        name: batchAiResourceName(parentId),
      });
    }
    // A child created while its parent is being deleted would be left behind as an orphan.
    if (parent.record['provisioningState'] === 'deleting') {
      throw createApiError('OperationNotAllowed', {
        reason: `the ${typeNoun(parentId.kind)} '${batchAiResourceName(parentId)}' is being deleted`,
      });
    }
  }
}
