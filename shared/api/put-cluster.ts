import { apiErrorFromBody, createApiError } from '../domain/api-errors.js';
import { applyClusterUpdate, type ClusterProperties } from '../domain/cluster-schema.js';
import { type ClusterRecord, newClusterRecord } from '../domain/cluster-view.js';
import type { ClusterResourceId } from '../domain/resource-id.js';
import { validateClusterCreate, validateClusterUpdate } from '../domain/validate-requests.js';
import type { StoredResource } from '../stores/resource-store.js';
import type { ApiDeps } from './api-deps.js';
import { createOnce } from './create-once.js';
import type { PutOutcome } from './put-workspace.js';
import { mustGet, requireParents } from './records.js';

/**
 * Clusters_Create. The cluster is stored with provisioningState `creating`; the cluster lifecycle (compute)
 * provisions it and completes the operation. A PUT with a different body is refused: only scaleSettings
 * change, through PATCH.
 */
export async function putCluster(deps: ApiDeps, id: ClusterResourceId, body: unknown): Promise<PutOutcome> {
  const validation = validateClusterCreate(body);
  if (!validation.ok) throw apiErrorFromBody(validation.error);
  await requireParents(deps.store, id);
  const outcome = await createOnce(deps, {
    id,
    record: newClusterRecord({
      id,
      uid: deps.newId(),
      properties: deps.secrets.sealAll(validation.value),
      now: deps.now().toISOString(),
    }),
    fingerprint: deps.secrets.fingerprint(validation.value),
    refusal: {
      type: 'cluster',
      name: id.cluster,
      reason: 'only scaleSettings can change, with PATCH (Clusters_Update)',
    },
  });
  // Started on every PUT while the cluster is being created: a retried PUT restarts a lifecycle that never got
  // going (starting a running one is a no-op).
  if (outcome.operationId) {
    const record = outcome.resource.record as unknown as ClusterRecord;
    await deps.lifecycles.startCompute({
      kind: 'cluster',
      resourceId: outcome.resource.resourceId,
      uid: record.uid,
      operationId: outcome.operationId,
    });
  }
  return outcome;
}

/** Clusters_Update (PATCH): changes scaleSettings. */
export async function updateCluster(deps: ApiDeps, id: ClusterResourceId, body: unknown): Promise<StoredResource> {
  const validation = validateClusterUpdate(body);
  if (!validation.ok) throw apiErrorFromBody(validation.error);
  await mustGet(deps.store, id);
  const now = deps.now().toISOString();
  let changed = false;
  const updated = await deps.store.update(id, (current) => {
    const record = current.record as unknown as ClusterRecord;
    if (record.provisioningState === 'deleting') {
      throw createApiError('OperationNotAllowed', { reason: `the cluster '${id.cluster}' is being deleted` });
    }
    const properties: ClusterProperties = applyClusterUpdate(record.properties, validation.value);
    changed = JSON.stringify(properties.scaleSettings) !== JSON.stringify(record.properties.scaleSettings);
    // The new target is acted on by the cluster's lifecycle; until it has looked, the cluster is resizing.
    const allocation = changed ? { allocationState: 'resizing', allocationStateTransitionTime: now } : {};
    return {
      ...current,
      record: { ...current.record, properties, ...allocation } as unknown as Record<string, unknown>,
      bodyHash: deps.secrets.fingerprint(deps.secrets.openAll(properties)),
      updatedAt: now,
    };
  });
  const result = updated ?? (await mustGet(deps.store, id));
  if (changed) {
    const record = result.record as unknown as ClusterRecord & { operationId?: string };
    await deps.lifecycles.computeChanged({
      kind: 'cluster',
      resourceId: result.resourceId,
      uid: record.uid,
      operationId: record.operationId ?? '',
      reason: 'scale settings changed',
    });
  }
  return result;
}
