import { createApiError } from '../domain/api-errors.js';
import { type BatchAiResourceId, formatBatchAiResourceId } from '../domain/resource-id.js';
import type { ApiDeps } from './api-deps.js';
import type { PutOutcome } from './put-workspace.js';

/**
 * The PUT semantics shared by jobs, clusters and file servers: the resource id is the idempotency key; the same
 * body again is a no-op; a different body is refused (these resources have no update through PUT). While the
 * resource is still `creating`, its long-running operation is (re)registered and its id returned, so a retried
 * PUT polls the same operation.
 */
export async function createOnce(
  deps: Pick<ApiDeps, 'store' | 'operations' | 'newId' | 'now'>,
  input: {
    id: BatchAiResourceId;
    record: { creationTime: string; provisioningState: string };
    fingerprint: string;
    refusal: { type: string; name: string; reason: string };
    createdBy?: string | undefined;
  },
): Promise<PutOutcome> {
  const now = deps.now().toISOString();
  const { created, resource } = await deps.store.createIfAbsent({
    id: input.id,
    resourceId: formatBatchAiResourceId(input.id),
    record: { ...input.record, operationId: deps.newId() },
    bodyHash: input.fingerprint,
    ...(input.createdBy ? { createdBy: input.createdBy } : {}),
    createdAt: now,
    updatedAt: now,
  });
  if (!created && resource.bodyHash !== input.fingerprint) {
    throw createApiError('ResourceUpdateNotSupported', input.refusal);
  }
  const outcome = created ? 'created' : 'unchanged';
  const stored = resource.record as { operationId: string; provisioningState: string; creationTime: string };
  if (stored.provisioningState !== 'creating') return { outcome, resource };
  await deps.operations.createIfAbsent({
    operationId: stored.operationId,
    resourceId: resource.resourceId,
    action: 'create',
    status: 'InProgress',
    startTime: stored.creationTime,
  });
  return { outcome, resource, operationId: stored.operationId };
}
