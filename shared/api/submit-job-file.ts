import type { Settings } from '../config/settings.js';
import { createApiError } from '../domain/api-errors.js';
import { normalizeJobManifest } from '../domain/job-manifest.js';
import type { JobResourceId } from '../domain/resource-id.js';
import { allItems } from '../stores/resource-store.js';
import type { ApiDeps } from './api-deps.js';
import type { PutOutcome } from './put-workspace.js';
import { submitJob } from './submit-job.js';

/**
 * Submits a job file as `az batchai` users write them (a blob manifest, a recipe's job.json): the cluster may be
 * named or left out, mounts may lack the storage account (see job-manifest.ts); then the one submit path.
 */
export async function submitJobFile(
  deps: ApiDeps & { settings: Pick<Settings, 'jobFileStorage'> },
  id: JobResourceId,
  file: unknown,
  submitter: { createdBy?: string } = {},
): Promise<PutOutcome> {
  const workspace = {
    kind: 'workspace' as const,
    subscriptionId: id.subscriptionId,
    resourceGroup: id.resourceGroup,
    workspace: id.workspace,
  };
  const clusters: Array<{ name: string; id: string }> = [];
  for await (const stored of allItems((options) => deps.store.listChildren(workspace, 'cluster', options))) {
    if (stored.id.kind === 'cluster') clusters.push({ name: stored.id.cluster, id: stored.resourceId });
  }
  const normalized = normalizeJobManifest(file, { clusters, storageAccount: deps.settings.jobFileStorage });
  if (!normalized.ok) {
    const { target, reason } = normalized;
    throw createApiError('InvalidPropertyValue', { target, reason }, { target });
  }
  return submitJob(deps, id, normalized.value, submitter);
}
