// One Queue/Blob service client per connection string, shared by triggers and bindings.

import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { storageConnectionString } from './app-settings.js';

const queueServices = new Map<string, QueueServiceClient>();
const blobServices = new Map<string, BlobServiceClient>();

export function queueService(connection: unknown): QueueServiceClient {
  const cs = storageConnectionString(connection);
  let client = queueServices.get(cs);
  if (!client) {
    client = QueueServiceClient.fromConnectionString(cs, { retryOptions: { maxTries: 3, retryDelayInMs: 200 } });
    queueServices.set(cs, client);
  }
  return client;
}

export function blobService(connection: unknown): BlobServiceClient {
  const cs = storageConnectionString(connection);
  let client = blobServices.get(cs);
  if (!client) {
    client = BlobServiceClient.fromConnectionString(cs, { retryOptions: { maxTries: 3, retryDelayInMs: 200 } });
    blobServices.set(cs, client);
  }
  return client;
}

/** Splits `container/dir/blob.json` into its container and blob name. */
export function splitBlobPath(p: string): { container: string; blobName: string } {
  const trimmed = p.replace(/^\/+/, '');
  const i = trimmed.indexOf('/');
  if (i <= 0 || i === trimmed.length - 1) throw new Error(`Blob path "${p}" must be "<container>/<blob name>"`);
  return { container: trimmed.slice(0, i), blobName: trimmed.slice(i + 1) };
}
