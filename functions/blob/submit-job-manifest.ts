import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import * as df from 'durable-functions';
import { submitJobFile } from '../../shared/api/submit-job-file.js';
import { describeJsonSyntaxError } from '../../shared/domain/json-text.js';
import { formatBatchAiResourceId, type JobResourceId } from '../../shared/domain/resource-id.js';
import { checkResourceName } from '../../shared/domain/resource-name.js';
import { apiDeps, appServices } from '../dependencies.js';
import { authorizeSubmission } from '../http/authorize.js';
import { invalid, isPermanent, report } from '../submission-errors.js';

// A job manifest (the PUT body) dropped at `manifests/{workspace}/{experiment}/{job}.json` arrives as an Event
// Grid BlobCreated event. Accepted manifests move to `manifests-accepted/`, rejected ones to `manifests-rejected/`
// with `<name>.error.json` beside them; a transient failure is thrown so Event Grid delivers the event again.
// Manifests name no subscription or resource group: they belong to this deployment's own (app settings).

export const MANIFESTS = 'manifests';
export const ACCEPTED = 'manifests-accepted';
export const REJECTED = 'manifests-rejected';

export function jobIdFromManifestName(
  name: string,
  scope: { subscriptionId: string; resourceGroup: string },
): JobResourceId {
  const match = /^([^/]+)\/([^/]+)\/([^/]+)\.json$/i.exec(name);
  if (!match)
    throw invalid(`the manifest must be at ${MANIFESTS}/{workspace}/{experiment}/{job}.json, not ${MANIFESTS}/${name}`);
  const [, workspace, experiment, job] = match as unknown as [string, string, string, string];
  for (const [kind, value] of [
    ['workspace', workspace],
    ['experiment', experiment],
    ['job', job],
  ] as const) {
    const problem = checkResourceName(kind, value);
    if (problem) throw invalid(problem.message);
  }
  return { kind: 'job', ...scope, workspace, experiment, job };
}

function etagOf(properties: unknown): string | undefined {
  if (properties === null || typeof properties !== 'object') return undefined;
  const entry = Object.entries(properties).find(([key]) => key.toLowerCase() === 'etag');
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

export async function submitJobManifest(
  blob: unknown,
  client: DurableClient,
  context: InvocationContext,
): Promise<void> {
  const name = String(context.triggerMetadata?.name ?? '');
  const content = Buffer.isBuffer(blob) ? blob : Buffer.from(typeof blob === 'string' ? blob : JSON.stringify(blob));
  const deps = await apiDeps(client);
  const { blobs } = await appServices();
  // Archived manifests outlive the submission, so their secrets are kept sealed (a manifest that is not even
  // JSON is kept sealed as a whole: we cannot tell where a secret in it would be).
  const archived = (): Buffer => {
    try {
      return Buffer.from(JSON.stringify(deps.secrets.sealAll(JSON.parse(content.toString('utf8'))), null, 2));
    } catch {
      return Buffer.from(JSON.stringify({ sealedText: deps.secrets.seal(content.toString('utf8')) }));
    }
  };
  const move = async (container: string) => {
    const target = blobs.getContainerClient(container);
    await target.createIfNotExists();
    const body = archived();
    await target.getBlockBlobClient(name).upload(body, body.length, {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
    // Only the version we processed: a manifest overwritten meanwhile has its own event coming.
    const etag = etagOf(context.triggerMetadata?.properties);
    try {
      await blobs
        .getContainerClient(MANIFESTS)
        .getBlobClient(name)
        .deleteIfExists(etag ? { conditions: { ifMatch: etag } } : {});
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 412) throw err;
    }
  };
  try {
    const id = jobIdFromManifestName(name, deps.settings.compute);
    let body: unknown;
    try {
      body = JSON.parse(content.toString('utf8'));
    } catch (err) {
      throw invalid(`the manifest is not JSON: ${describeJsonSyntaxError(err)}`);
    }
    // Authorized as a PUT of the job by the configured submission principal; a 403 is a permanent rejection.
    const submitter = await authorizeSubmission(formatBatchAiResourceId(id), (await appServices()).auth);
    const outcome = await submitJobFile(deps, id, body, { createdBy: submitter.id });
    await move(ACCEPTED);
    context.log(`manifest ${name}: job ${outcome.outcome}`);
  } catch (err) {
    if (!isPermanent(err)) throw err;
    const rejection = report('blob-manifest', `${MANIFESTS}/${name}`, err, deps.now());
    const errorReport = Buffer.from(JSON.stringify(rejection, null, 2));
    await move(REJECTED);
    // The report is what a user (or a test) waits for, so it is written last: once it exists, the manifest has
    // already moved.
    await blobs
      .getContainerClient(REJECTED)
      .getBlockBlobClient(`${name}.error.json`)
      .upload(errorReport, errorReport.length, { blobHTTPHeaders: { blobContentType: 'application/json' } });
    context.warn(`manifest ${name} rejected: ${rejection.error.code} (target: ${rejection.error.target ?? '-'})`);
  }
}

export function registerManifestSubmissions(): void {
  df.app.client.storageBlob('SubmitJobManifest', {
    path: `${MANIFESTS}/{name}`,
    connection: 'AzureWebJobsStorage',
    source: 'EventGrid',
    handler: submitJobManifest,
  });
}
