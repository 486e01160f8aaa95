import { apiErrorFromBody } from '../domain/api-errors.js';
import { type FileServerRecord, newFileServerRecord } from '../domain/file-server-view.js';
import type { FileServerResourceId } from '../domain/resource-id.js';
import { validateFileServerCreate } from '../domain/validate-requests.js';
import type { ApiDeps } from './api-deps.js';
import { createOnce } from './create-once.js';
import type { PutOutcome } from './put-workspace.js';
import { requireParents } from './records.js';

/** FileServers_Create: stored as `creating`; the file server's VM is provisioned by the compute lifecycle. */
export async function putFileServer(deps: ApiDeps, id: FileServerResourceId, body: unknown): Promise<PutOutcome> {
  const validation = validateFileServerCreate(body);
  if (!validation.ok) throw apiErrorFromBody(validation.error);
  await requireParents(deps.store, id);
  const outcome = await createOnce(deps, {
    id,
    record: newFileServerRecord({
      id,
      uid: deps.newId(),
      properties: deps.secrets.sealAll(validation.value),
      now: deps.now().toISOString(),
    }),
    fingerprint: deps.secrets.fingerprint(validation.value),
    refusal: {
      type: 'file server',
      name: id.fileServer,
      reason: 'a file server cannot be updated; delete it and create it again',
    },
  });
  if (outcome.operationId) {
    const record = outcome.resource.record as unknown as FileServerRecord;
    await deps.lifecycles.startCompute({
      kind: 'fileServer',
      resourceId: outcome.resource.resourceId,
      uid: record.uid!,
      operationId: outcome.operationId,
    });
  }
  return outcome;
}
