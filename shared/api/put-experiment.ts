import { apiErrorFromBody } from '../domain/api-errors.js';
import { type ExperimentResourceId, formatBatchAiResourceId } from '../domain/resource-id.js';
import { provisioning } from '../domain/resource-states.js';
import { validateExperimentCreate } from '../domain/validate-requests.js';
import type { ExperimentRecord } from '../domain/workspace-view.js';
import type { ApiDeps } from './api-deps.js';
import type { PutOutcome } from './put-workspace.js';
import { requireParents } from './records.js';

/** Experiments_Create: experiments have no writable properties, so a repeated PUT is always a no-op. */
export async function putExperiment(deps: ApiDeps, id: ExperimentResourceId, body: unknown): Promise<PutOutcome> {
  const validation = validateExperimentCreate(body);
  if (!validation.ok) throw apiErrorFromBody(validation.error);
  await requireParents(deps.store, id);
  const now = deps.now().toISOString();
  const record: ExperimentRecord = {
    id,
    ...provisioning('succeeded', now),
  };
  const { created, resource } = await deps.store.createIfAbsent({
    id,
    resourceId: formatBatchAiResourceId(id),
    record: record as unknown as Record<string, unknown>,
    bodyHash: '',
    createdAt: now,
    updatedAt: now,
  });
  return { outcome: created ? 'created' : 'unchanged', resource };
}
