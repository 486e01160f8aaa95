// Blob triggers with `source: 'EventGrid'`: POST /runtime/webhooks/blobs?functionName=Host.Functions.<name>
// receives Microsoft.Storage.BlobCreated events. For each created blob that matches the function's `path`
// pattern (e.g. `manifests/{name}`), the blob is read from storage and passed as the trigger input (bytes)
// with triggerMetadata { BlobTrigger, Uri, Properties, Metadata, <pattern parameters> }.
// Differences from Azure, on purpose: the invocation runs while the webhook request is open, and a failure
// answers 500 so the Event Grid sender retries (Azure acknowledges with 202 and retries via an internal
// queue). Receipts (blob + ETag already processed) are kept in memory: a redelivery of an event already
// processed successfully does not invoke the function again.
// Requires the `blobs_extension` system key or the master key.

import { resolveAppSettingRefs } from './app-settings.js';
import type { FunctionInvoker, HostLogger, RegisteredFunction, RpcTypedData } from './contracts.js';
import { acceptDelivery, eventTypeOf, type GridEvent } from './event-grid-delivery.js';
import { functionsTriggeredBy } from './functions-triggered-by.js';
import { emptyResponse, type HostRequest, type HostResponse, jsonResponse } from './http-types.js';
import type { HostKeys } from './keys.js';
import { blobService } from './storage-clients.js';

export const BLOBS_WEBHOOK_PATH = '/runtime/webhooks/blobs';
export const BLOBS_SYSTEM_KEY = 'blobs_extension';
const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';

export interface BlobPathPattern {
  /** Pattern parameters of a matching blob path `container/name`, or undefined. */
  match(blobPath: string): Record<string, string> | undefined;
}

export function compileBlobPathPattern(pattern: string): BlobPathPattern {
  const names: string[] = [];
  const source = pattern
    .replace(/^\/+/, '')
    .split(/(\{[^{}]+\})/)
    .filter((p) => p !== '')
    .map((part) => {
      if (part.startsWith('{') && part.endsWith('}')) {
        names.push(part.slice(1, -1).trim());
        return '(.+?)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  // A pattern that is only a container (e.g. `manifests`) matches every blob in it.
  const re = new RegExp(names.length === 0 && !pattern.includes('/') ? `^${source}/(.+)$` : `^${source}$`);
  return {
    match(blobPath) {
      const m = re.exec(blobPath);
      if (!m) return undefined;
      const values: Record<string, string> = {};
      names.forEach((n, i) => {
        values[n] = m[i + 1]!;
      });
      return values;
    },
  };
}

/** container and blob name from `/blobServices/default/containers/<c>/blobs/<name>` (or the data.url). */
export function blobOfEvent(e: GridEvent): { container: string; blobName: string } | undefined {
  const subject = typeof e.subject === 'string' ? e.subject : '';
  const m = /\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/.exec(subject);
  if (m) return { container: m[1]!, blobName: m[2]! };
  const url = (e.data as Record<string, unknown> | undefined)?.url;
  if (typeof url === 'string') {
    try {
      const parts = new URL(url).pathname.split('/').filter((p) => p !== '');
      // Azurite URLs carry the account first: /devstoreaccount1/<container>/<blob>
      const start = parts[0] === 'devstoreaccount1' ? 1 : 0;
      const container = parts[start];
      const blobName = parts
        .slice(start + 1)
        .map(decodeURIComponent)
        .join('/');
      if (container && blobName) return { container, blobName };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function pascalProperties(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined || k === '_response') continue;
    out[k.charAt(0).toUpperCase() + k.slice(1)] = v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
  }
  return out;
}

export function createBlobWebhook(deps: {
  functions: readonly RegisteredFunction[];
  invoker: FunctionInvoker;
  keys: HostKeys;
  log: HostLogger;
}) {
  const byName = new Map(
    functionsTriggeredBy(deps.functions, 'blobTrigger').map((f) => [f.name.toLowerCase(), f] as const),
  );
  const receipts = new Set<string>();

  async function deliver(fn: RegisteredFunction, pattern: BlobPathPattern, e: GridEvent): Promise<boolean> {
    const blob = blobOfEvent(e);
    if (!blob) {
      deps.log.warn('BlobCreated event without a blob subject; ignored', { functionName: fn.name, eventId: e.id });
      return true;
    }
    const blobPath = `${blob.container}/${blob.blobName}`;
    const params = pattern.match(blobPath);
    if (!params) return true;
    const client = blobService(fn.trigger.binding.connection)
      .getContainerClient(blob.container)
      .getBlobClient(blob.blobName);
    let content: Buffer;
    let props: Awaited<ReturnType<typeof client.getProperties>>;
    try {
      props = await client.getProperties();
      content = await client.downloadToBuffer();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) {
        deps.log.warn('The created blob no longer exists; ignored', { functionName: fn.name, blob: blobPath });
        return true;
      }
      throw err;
    }
    const receipt = `${fn.name}|${blobPath}|${props.etag ?? ''}`;
    if (receipts.has(receipt)) return true;
    const { metadata, ...rest } = props;
    const triggerMetadata: Record<string, RpcTypedData> = {
      BlobTrigger: { string: blobPath },
      Uri: { string: client.url },
      Properties: { json: JSON.stringify(pascalProperties(rest as Record<string, unknown>)) },
      Metadata: { json: JSON.stringify(metadata ?? {}) },
    };
    for (const [k, v] of Object.entries(params)) triggerMetadata[k] = { string: v };
    const result = await deps.invoker.invoke(fn.name, { bytes: content }, triggerMetadata);
    if (!result.ok) {
      deps.log.warn('Blob-triggered function failed; the delivery will be retried by the sender', {
        functionName: fn.name,
        blob: blobPath,
        error: result.error.message,
      });
      return false;
    }
    receipts.add(receipt);
    return true;
  }

  return async function handleBlobs(req: HostRequest): Promise<HostResponse> {
    const accepted = acceptDelivery(req, deps.keys, BLOBS_SYSTEM_KEY);
    if ('response' in accepted) return accepted.response;
    const raw = req.query.get('functionName') ?? '';
    const name = raw.replace(/^Host\.Functions\./i, '');
    const fn = byName.get(name.toLowerCase());
    if (!fn) return jsonResponse(404, { error: { message: `No blob-triggered function named "${raw}"` } });
    const pattern = compileBlobPathPattern(resolveAppSettingRefs(String(fn.trigger.binding.path)));
    for (const e of accepted.events) {
      if (eventTypeOf(e) !== BLOB_CREATED) continue;
      try {
        if (!(await deliver(fn, pattern, e))) return emptyResponse(500);
      } catch (err) {
        deps.log.error('Blob trigger delivery failed', { functionName: fn.name, error: (err as Error).message });
        return emptyResponse(500);
      }
    }
    return emptyResponse(202);
  };
}
