import { apiErrorFromBody, createApiError } from '../domain/api-errors.js';
import { type FileServerRecord, newFileServerRecord } from '../domain/file-server-view.js';
import { type FileServerResourceId, formatBatchAiResourceId } from '../domain/resource-id.js';
import { validateFileServerCreate } from '../domain/validate-requests.js';
import type { ApiDeps } from './api-deps.js';
import type { PutOutcome } from './put-workspace.js';
import { requireParents } from './records.js';

/** FileServers_Create: stored as `creating`; the file server's VM is provisioned by the compute lifecycle. */
export async function putFileServer(deps: ApiDeps, id: FileServerResourceId, body: unknown): Promise<PutOutcome> {
  const validation = validateFileServerCreate(body);
  if (!validation.ok) throw apiErrorFromBody(validation.error);
  await requireParents(deps.store, id);
  const fingerprint = deps.secrets.fingerprint(validation.value);
  const now = deps.now().toISOString();
  const operationId = deps.newId();
  const record = newFileServerRecord({ id, properties: deps.secrets.sealAll(validation.value), now });
  const { created, resource } = await deps.store.createIfAbsent({
    id,
    resourceId: formatBatchAiResourceId(id),
    record: { ...record, operationId } as unknown as Record<string, unknown>,
    bodyHash: fingerprint,
    createdAt: now,
    updatedAt: now,
  });
  if (!created && resource.bodyHash !== fingerprint) {
    throw createApiError('ResourceUpdateNotSupported', {
      type: 'file server',
      name: id.fileServer,
      reason: 'a file server cannot be updated; delete it and create it again',
    });
  }
  const stored = resource.record as unknown as FileServerRecord & { operationId: string };
  if (stored.provisioningState !== 'creating') return { outcome: created ? 'created' : 'unchanged', resource };
  await deps.operations.createIfAbsent({
    operationId: stored.operationId,
    resourceId: resource.resourceId,
    action: 'create',
    status: 'InProgress',
    startTime: stored.creationTime,
  });
  return { outcome: created ? 'created' : 'unchanged', resource, operationId: stored.operationId };
}
