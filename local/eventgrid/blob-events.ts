// Shaping Microsoft.Storage.BlobCreated / BlobDeleted events from what a blob listing shows, and deciding
// from two listings whether a blob was (re)created. Pure.
import { createHash } from 'node:crypto';
import type { EventGridEvent } from './event-schemas.js';

/** What the watcher remembers about a blob between polls (and across restarts). */
export interface BlobVersion {
  name: string;
  etag: string;
  createdOn: string;
  contentLength: number;
  contentMd5: string;
  contentType: string;
  blobType: string;
  accessTier?: string;
}

export type BlobChange =
  | { kind: 'created'; blob: BlobVersion }
  | { kind: 'deleted'; blob: BlobVersion }
  | { kind: 'touched'; blob: BlobVersion };

/**
 * Azure emits BlobCreated for PutBlob/PutBlockList/CopyBlob (a new or replaced blob) but not for
 * SetBlobMetadata/SetBlobProperties/AppendBlock/PutPage, all of which also change the etag. A listing cannot
 * tell these apart directly, so: a new etag counts as a re-creation when the creation time moved (Azurite
 * resets it on every overwrite, with 1 s resolution) or, for block blobs, when length or MD5 changed.
 * The one case this misses: a block blob replaced by identical bytes within the same second.
 */
export function classifyChange(previous: BlobVersion | undefined, current: BlobVersion): BlobChange | undefined {
  if (!previous) return { kind: 'created', blob: current };
  if (previous.etag === current.etag) return undefined;
  const recreated =
    previous.createdOn !== current.createdOn ||
    previous.blobType !== current.blobType ||
    (current.blobType === 'BlockBlob' &&
      (previous.contentLength !== current.contentLength || previous.contentMd5 !== current.contentMd5));
  return { kind: recreated ? 'created' : 'touched', blob: current };
}

/** Diff of one container's listing against what was seen before. */
export function diffListing(
  previous: ReadonlyMap<string, BlobVersion>,
  current: ReadonlyMap<string, BlobVersion>,
): BlobChange[] {
  const changes: BlobChange[] = [];
  for (const blob of current.values()) {
    const change = classifyChange(previous.get(blob.name), blob);
    if (change) changes.push(change);
  }
  for (const blob of previous.values()) {
    if (!current.has(blob.name)) changes.push({ kind: 'deleted', blob });
  }
  return changes;
}

/** Deterministic UUID-shaped id so the same blob version always yields the same event id (consumers dedupe by id). */
export function deterministicId(key: string): string {
  const h = createHash('sha1').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

/** Azure's sequencer is an opaque, fixed-width hex string that sorts in write order; ours is a persisted counter. */
export function formatSequencer(counter: number): string {
  return counter.toString(16).padStart(48, '0');
}

export function storageTopic(subscriptionId: string, resourceGroup: string, account: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Storage/storageAccounts/${account}`;
}

export function blobSubject(container: string, name: string): string {
  return `/blobServices/default/containers/${container}/blobs/${name}`;
}

export interface BlobEventContext {
  topic: string;
  account: string;
  container: string;
  /** URL of the blob on the local blob endpoint (what the app would fetch). */
  url: string;
  sequencer: string;
  eventTime: string;
  requestId: string;
}

/** The envelope and data fields every storage blob event shares; `data` adds the event's own fields. */
function blobEvent(
  kind: 'created' | 'deleted',
  blob: BlobVersion,
  ctx: BlobEventContext,
  data: Record<string, unknown>,
): EventGridEvent {
  return {
    topic: ctx.topic,
    subject: blobSubject(ctx.container, blob.name),
    eventType: kind === 'created' ? 'Microsoft.Storage.BlobCreated' : 'Microsoft.Storage.BlobDeleted',
    id: deterministicId(`${ctx.account}/${ctx.container}/${blob.name}@${blob.etag}:${kind}`),
    data: {
      ...data,
      clientRequestId: ctx.requestId,
      requestId: ctx.requestId,
      contentType: blob.contentType,
      blobType: blob.blobType,
      url: ctx.url,
      sequencer: ctx.sequencer,
      storageDiagnostics: { batchId: ctx.requestId },
    },
    dataVersion: '',
    metadataVersion: '1',
    eventTime: ctx.eventTime,
  };
}

export function blobCreatedEvent(blob: BlobVersion, ctx: BlobEventContext): EventGridEvent {
  // A listing cannot say whether PutBlob or PutBlockList wrote the blob; PutBlob is what the SDK's single-shot
  // uploads use.
  return blobEvent('created', blob, ctx, {
    api: 'PutBlob',
    eTag: blob.etag,
    contentLength: blob.contentLength,
    ...(blob.accessTier ? { accessTier: blob.accessTier } : {}),
  });
}

export function blobDeletedEvent(blob: BlobVersion, ctx: BlobEventContext): EventGridEvent {
  return blobEvent('deleted', blob, ctx, { api: 'DeleteBlob' });
}
