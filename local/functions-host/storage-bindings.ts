// Storage input/output bindings: output.storageQueue ('queue'), output.storageBlob and input.storageBlob
// ('blob'). Paths and queue names may use binding expressions and %app setting% references.

import { stringSetting } from './app-settings.js';
import { bindingValues, resolveBindingExpression } from './binding-expressions.js';
import type { BindingProvider, InvocationBindingContext } from './binding-provider.js';
import type { BindingMetadata, RpcTypedData } from './contracts.js';
import type { QueueSettings } from './queue-settings.js';
import { notifyQueueWrite, queueKey } from './queue-wakeups.js';
import { blobService, queueService, splitBlobPath } from './storage-clients.js';

function resolvedSetting(binding: BindingMetadata, key: string, ctx: InvocationBindingContext): string {
  const raw = stringSetting(binding, key);
  if (!raw) throw new Error(`Binding "${binding.name}" has no "${key}"`);
  return resolveBindingExpression(raw, bindingValues(ctx.triggerData, ctx.triggerMetadata));
}

/** The message texts an output value stands for: an array means one message per element. */
export function queueMessagesOf(data: RpcTypedData): string[] {
  if (data.string !== undefined) return [data.string];
  if (data.bytes !== undefined) return [Buffer.from(data.bytes).toString('utf8')];
  if (data.int !== undefined) return [String(data.int)];
  if (data.double !== undefined) return [String(data.double)];
  if (data.json !== undefined) {
    const value: unknown = JSON.parse(data.json);
    const items = Array.isArray(value) ? value : [value];
    return items.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  }
  return [];
}

export function encodeQueueMessage(text: string, encoding: QueueSettings['messageEncoding']): string {
  return encoding === 'base64' ? Buffer.from(text, 'utf8').toString('base64') : text;
}

function blobBytesOf(data: RpcTypedData): Buffer {
  if (data.bytes !== undefined) return Buffer.from(data.bytes);
  if (data.string !== undefined) return Buffer.from(data.string, 'utf8');
  if (data.json !== undefined) return Buffer.from(data.json, 'utf8');
  if (data.int !== undefined) return Buffer.from(String(data.int));
  if (data.double !== undefined) return Buffer.from(String(data.double));
  return Buffer.alloc(0);
}

const ensuredQueues = new Set<string>();
const ensuredContainers = new Set<string>();

export function storageBindingProvider(getQueueSettings: () => QueueSettings): BindingProvider {
  return {
    name: 'storage',
    inputBindingTypes: ['blob'],
    outputBindingTypes: ['queue', 'blob'],
    validate(_fn, binding) {
      if (binding.type === 'queue' && !binding.queueName)
        return `queue output binding "${binding.name}" has no queueName`;
      if (binding.type === 'blob' && !binding.path) return `blob binding "${binding.name}" has no path`;
      return undefined;
    },
    async readInput(binding, ctx) {
      const { container, blobName } = splitBlobPath(resolvedSetting(binding, 'path', ctx));
      const blob = blobService(binding.connection).getContainerClient(container).getBlobClient(blobName);
      try {
        return { bytes: await blob.downloadToBuffer() };
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw err;
      }
    },
    async writeOutput(binding, data, ctx) {
      if (binding.type === 'queue') {
        const queueName = resolvedSetting(binding, 'queueName', ctx).toLowerCase();
        const service = queueService(binding.connection);
        const queue = service.getQueueClient(queueName);
        const key = queueKey(service.url, queueName);
        if (!ensuredQueues.has(key)) {
          await queue.createIfNotExists();
          ensuredQueues.add(key);
        }
        const encoding = getQueueSettings().messageEncoding;
        for (const text of queueMessagesOf(data)) await queue.sendMessage(encodeQueueMessage(text, encoding));
        notifyQueueWrite(key);
        return;
      }
      const { container, blobName } = splitBlobPath(resolvedSetting(binding, 'path', ctx));
      const service = blobService(binding.connection);
      const containerClient = service.getContainerClient(container);
      const key = `${service.url}|${container}`;
      if (!ensuredContainers.has(key)) {
        await containerClient.createIfNotExists();
        ensuredContainers.add(key);
      }
      const body = blobBytesOf(data);
      await containerClient.getBlockBlobClient(blobName).upload(body, body.length);
    },
  };
}
