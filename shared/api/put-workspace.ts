import { apiErrorFromBody, createApiError } from '../domain/api-errors.js';
import { formatBatchAiResourceId, type WorkspaceResourceId } from '../domain/resource-id.js';
import { provisioning } from '../domain/resource-states.js';
import { validateWorkspaceCreate, validateWorkspaceUpdate } from '../domain/validate-requests.js';
import type { WorkspaceRecord } from '../domain/workspace-view.js';
import type { StoredResource } from '../stores/resource-store.js';
import type { ApiDeps } from './api-deps.js';
import { mustGet } from './records.js';

export interface PutOutcome {
  outcome: 'created' | 'unchanged' | 'updated';
  resource: StoredResource;
  /** Present while the resource's provisioning is still in progress. */
  operationId?: string;
}

/** Workspaces_Create: creates the workspace, or updates its tags; its location cannot change. */
export async function putWorkspace(deps: ApiDeps, id: WorkspaceResourceId, body: unknown): Promise<PutOutcome> {
  const validation = validateWorkspaceCreate(body);
  if (!validation.ok) throw apiErrorFromBody(validation.error);
  const { location, tags } = validation.value;
  const now = deps.now().toISOString();
  const record: WorkspaceRecord = {
    id,
    location,
    ...(tags ? { tags } : {}),
    ...provisioning('succeeded', now),
  };
  const fingerprint = deps.secrets.fingerprint({ location, tags });
  const { created, resource } = await deps.store.createIfAbsent({
    id,
    resourceId: formatBatchAiResourceId(id),
    record: record as unknown as Record<string, unknown>,
    bodyHash: fingerprint,
    createdAt: now,
    updatedAt: now,
  });
  if (created) return { outcome: 'created', resource };
  if (resource.bodyHash === fingerprint) return { outcome: 'unchanged', resource };
  const existing = resource.record as unknown as WorkspaceRecord;
  if (existing.location.toLowerCase() !== location.toLowerCase()) {
    throw createApiError(
      'OperationNotAllowed',
      { reason: `the workspace '${id.workspace}' is in '${existing.location}' and a workspace cannot move` },
      { target: 'location' },
    );
  }
  const updated = await deps.store.update(id, (current) => ({
    ...current,
    record: { ...current.record, ...(tags ? { tags } : { tags: undefined }) },
    bodyHash: fingerprint,
    updatedAt: deps.now().toISOString(),
  }));
  return { outcome: 'updated', resource: updated ?? (await mustGet(deps.store, id)) };
}

/** Workspaces_Update (PATCH): replaces the tags. */
export async function updateWorkspace(deps: ApiDeps, id: WorkspaceResourceId, body: unknown): Promise<StoredResource> {
  const validation = validateWorkspaceUpdate(body);
  if (!validation.ok) throw apiErrorFromBody(validation.error);
  const { tags } = validation.value;
  await mustGet(deps.store, id);
  const updated = await deps.store.update(id, (current) =>
    tags === undefined
      ? undefined
      : {
          ...current,
          record: { ...current.record, tags },
          // What a PUT with the same location and these tags would hash to, so that PUT is then a no-op.
          bodyHash: deps.secrets.fingerprint({
            location: (current.record as unknown as WorkspaceRecord).location,
            tags,
          }),
          updatedAt: deps.now().toISOString(),
        },
  );
  return updated ?? (await mustGet(deps.store, id));
}
