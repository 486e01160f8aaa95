import { apiErrorFromBody, createApiError } from '../domain/api-errors.js';
import type { JobRecord } from '../domain/job-view.js';
import { newJobRecord } from '../domain/job-view.js';
import { formatBatchAiResourceId, type JobResourceId, parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import { validateJobCreate } from '../domain/validate-requests.js';
import type { ApiDeps } from './api-deps.js';
import type { PutOutcome } from './put-workspace.js';
import { requireParents } from './records.js';

export type SubmissionChannel = 'http' | 'queue' | 'blob-manifest' | 'logic-apps';

/**
 * The one submit path for jobs, whatever the channel (HTTP PUT, queue message, blob manifest, Logic Apps):
 * the same validation, and the same idempotency — the job id is the key, so the same job submitted twice
 * through any mix of channels is one job. A different body for an existing job is refused: jobs have no update.
 */
export async function submitJob(deps: ApiDeps, id: JobResourceId, body: unknown): Promise<PutOutcome> {
  const validation = validateJobCreate(body);
  if (!validation.ok) throw apiErrorFromBody(validation.error);
  const properties = validation.value;
  await requireParents(deps.store, id);
  await requireCluster(deps, id, properties.cluster.id);

  const fingerprint = deps.secrets.fingerprint(properties);
  const now = deps.now().toISOString();
  const record = newJobRecord({ id, uid: deps.newId(), properties: deps.secrets.sealAll(properties), now });
  const operationId = deps.newId();
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
      type: 'job',
      name: id.job,
      reason: 'a job cannot be updated; delete it first or submit it under another name',
    });
  }
  const stored = resource.record as unknown as JobRecord & { operationId: string };
  if (stored.provisioningState === 'creating') {
    // Also on a repeat: if the first attempt stored the job but died before starting its lifecycle, the
    // retry finishes the job's creation (starting the orchestration is idempotent).
    await deps.operations.createIfAbsent({
      operationId: stored.operationId,
      resourceId: resource.resourceId,
      action: 'create',
      status: 'InProgress',
      startTime: stored.creationTime,
    });
    await deps.lifecycles.startJob({ jobId: resource.resourceId, operationId: stored.operationId });
    return { outcome: created ? 'created' : 'unchanged', resource, operationId: stored.operationId };
  }
  return { outcome: created ? 'created' : 'unchanged', resource };
}

async function requireCluster(deps: ApiDeps, job: JobResourceId, clusterId: string): Promise<void> {
  const parsed = parseBatchAiResourceIdOf('cluster', clusterId);
  // The validator already checked the id's shape; here we check it names a cluster that exists.
  if (!parsed.ok) return;
  const cluster = parsed.value;
  const sameWorkspace =
    cluster.subscriptionId.toLowerCase() === job.subscriptionId.toLowerCase() &&
    cluster.resourceGroup.toLowerCase() === job.resourceGroup.toLowerCase() &&
    cluster.workspace.toLowerCase() === job.workspace.toLowerCase();
  if (!sameWorkspace) {
    throw createApiError(
      'InvalidPropertyValue',
      { target: 'properties.cluster.id', reason: `the cluster must be in the job's workspace '${job.workspace}'` },
      { target: 'properties.cluster.id' },
    );
  }
  if (!(await deps.store.get(cluster))) {
    throw createApiError(
      'InvalidPropertyValue',
      {
        target: 'properties.cluster.id',
        reason: `the cluster '${cluster.cluster}' does not exist in workspace '${cluster.workspace}'`,
      },
      { target: 'properties.cluster.id' },
    );
  }
}
