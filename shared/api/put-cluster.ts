import { apiErrorFromBody } from '../domain/api-errors.js';
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
  return createOnce(deps, {
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
}

/** Clusters_Update (PATCH): changes scaleSettings. */
export async function updateCluster(deps: ApiDeps, id: ClusterResourceId, body: unknown): Promise<StoredResource> {
  const validation = validateClusterUpdate(body);
  if (!validation.ok) throw apiErrorFromBody(validation.error);
  await mustGet(deps.store, id);
  const updated = await deps.store.update(id, (current) => {
    const record = current.record as unknown as ClusterRecord;
    const properties: ClusterProperties = applyClusterUpdate(record.properties, validation.value);
    return {
      ...current,
      record: { ...current.record, properties } as unknown as Record<string, unknown>,
      bodyHash: deps.secrets.fingerprint(deps.secrets.openAll(properties)),
      updatedAt: deps.now().toISOString(),
    };
  });
  return updated ?? (await mustGet(deps.store, id));
}
