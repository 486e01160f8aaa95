import { apiErrorFromBody, createApiError } from '../domain/api-errors.js';
import { newJobRecord } from '../domain/job-view.js';
import { type JobResourceId, parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import { validateJobCreate } from '../domain/validate-requests.js';
import type { ApiDeps } from './api-deps.js';
import { createOnce } from './create-once.js';
import type { PutOutcome } from './put-workspace.js';
import { requireParents } from './records.js';

/**
 * The one submit path for jobs, whatever the channel (HTTP PUT, queue message, blob manifest, Logic Apps):
 * the same validation, and the same idempotency — the job id is the key, so the same job submitted twice
 * through any mix of channels is one job. A different body for an existing job is refused: jobs have no update.
 */
export async function submitJob(
  deps: ApiDeps,
  id: JobResourceId,
  body: unknown,
  submitter: { createdBy?: string } = {},
): Promise<PutOutcome> {
  const validation = validateJobCreate(body);
  if (!validation.ok) throw apiErrorFromBody(validation.error);
  const properties = validation.value;
  await requireParents(deps.store, id);
  const autoScale = await requireCluster(deps, id, properties.cluster.id);

  const outcome = await createOnce(deps, {
    id,
    record: newJobRecord({
      id,
      uid: deps.newId(),
      properties: deps.secrets.sealAll(properties),
      now: deps.now().toISOString(),
    }),
    fingerprint: deps.secrets.fingerprint(properties),
    createdBy: submitter.createdBy,
    refusal: {
      type: 'job',
      name: id.job,
      reason: 'a job cannot be updated; delete it first or submit it under another name',
    },
  });
  // Also on a repeat: if the first attempt stored the job but died before starting its lifecycle, the retry
  // finishes the job's creation (starting the orchestration twice is a no-op).
  if (outcome.operationId) {
    const stored = outcome.resource.record as { uid?: string };
    await deps.lifecycles.startJob({
      jobId: outcome.resource.resourceId,
      operationId: outcome.operationId,
      ...(stored.uid ? { uid: stored.uid } : {}),
      clusterId: properties.cluster.id,
      ...(autoScale !== undefined ? { autoScale } : {}),
    });
  }
  return outcome;
}

/** Whether the job's cluster scales automatically (its demand changes with the job), once it is known to exist. */
async function requireCluster(deps: ApiDeps, job: JobResourceId, clusterId: string): Promise<boolean | undefined> {
  const parsed = parseBatchAiResourceIdOf('cluster', clusterId);
  // The validator already checked the id's shape; here we check it names a cluster that exists.
  if (!parsed.ok) return undefined;
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
  const stored = await deps.store.get(cluster);
  if (!stored) {
    throw createApiError(
      'InvalidPropertyValue',
      {
        target: 'properties.cluster.id',
        reason: `the cluster '${cluster.cluster}' does not exist in workspace '${cluster.workspace}'`,
      },
      { target: 'properties.cluster.id' },
    );
  }
  const properties = (stored.record as { properties?: { scaleSettings?: { autoScale?: unknown } } }).properties;
  return properties?.scaleSettings?.autoScale !== undefined;
}
