// Storage queue triggers through the real host process against Azurite: processing with trigger
// metadata, retry with dequeueCount, poison after maxDequeueCount (content preserved), queue output
// bindings (extra output and $return array), and the pickup latency of an idle queue (measured).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { blobClient, queueClient, startTestStack, type TestStack } from '../../support/stack.js';
import { type HostProcess, startHost, waitFor } from './harness.js';

let stack: TestStack;
let host: HostProcess;
let work: QueueClient;
let results: ContainerClient;

interface WorkResult {
  message: { id: string; failTimes?: number };
  processedAt: number;
  dequeueCount: number;
  id: string;
  popReceipt: string;
  insertionTime: string;
  expirationTime: string;
  nextVisibleTime: string;
  queueTrigger: unknown;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

before(async () => {
  stack = await startTestStack({ services: ['azurite'] });
  host = await startHost({
    env: { AzureWebJobsStorage: stack.descriptor.storage.connectionString },
    azuriteLocation: join(stack.dataDir, 'azurite'),
  });
  work = queueClient(stack.descriptor).getQueueClient('work-items');
  await work.createIfNotExists();
  results = blobClient(stack.descriptor).getContainerClient('results');
});

after(async () => {
  await host?.stop();
  await stack?.dispose();
});

async function result(id: string, timeoutMs = 15_000): Promise<WorkResult> {
  return waitFor(
    `results/${id}.json`,
    async () => {
      try {
        const buf = await results.getBlobClient(`${id}.json`).downloadToBuffer();
        return JSON.parse(buf.toString('utf8')) as WorkResult;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
    25,
  );
}

test('a queue message is processed once, with trigger metadata, and deleted', async () => {
  const sent = await work.sendMessage(b64(JSON.stringify({ id: 'plain-1' })));
  const r = await result('plain-1');
  assert.deepEqual(r.message, { id: 'plain-1' });
  assert.equal(r.dequeueCount, 1);
  assert.equal(r.id, sent.messageId);
  assert.equal(typeof r.popReceipt, 'string');
  assert.ok(!Number.isNaN(Date.parse(r.insertionTime)));
  assert.ok(!Number.isNaN(Date.parse(r.expirationTime)));
  assert.ok(!Number.isNaN(Date.parse(r.nextVisibleTime)));
  assert.deepEqual(r.queueTrigger, { id: 'plain-1' });
  await waitFor('the message to be deleted', async () => {
    const peek = await work.peekMessages({ numberOfMessages: 32 });
    return peek.peekedMessageItems.every((m) => m.messageId !== sent.messageId);
  });
});

test('a failed invocation is retried; dequeueCount counts the attempts', async () => {
  await work.sendMessage(b64(JSON.stringify({ id: 'retry-1', failTimes: 1 })));
  const r = await result('retry-1');
  assert.equal(r.dequeueCount, 2);
});

test('after maxDequeueCount (3) failures the message moves to <queue>-poison with its content preserved', async () => {
  const text = b64(JSON.stringify({ id: 'poison-1', failTimes: 99 }));
  await work.sendMessage(text);
  const poison = queueClient(stack.descriptor).getQueueClient('work-items-poison');
  const moved = await waitFor('the poison message', async () => {
    if (!(await poison.exists())) return undefined;
    const peek = await poison.peekMessages({ numberOfMessages: 32 });
    return peek.peekedMessageItems.find((m) => m.messageText === text);
  });
  assert.equal(moved.messageText, text);
  assert.equal(await results.getBlobClient('poison-1.json').exists(), false);
  const failures = host
    .logs()
    .filter((l) => l.msg === 'Queue-triggered function failed' && String(l.error).includes('poison-1'));
  assert.equal(failures.length, 3);
  // Gone from the work queue.
  const left = await work.peekMessages({ numberOfMessages: 32 });
  assert.ok(left.peekedMessageItems.every((m) => m.messageText !== text));
});

test('queue output bindings: an HTTP extra output and a $return array (one message per element)', async () => {
  const res = await fetch(`${host.baseUrl}/api/enqueue`, {
    method: 'POST',
    body: JSON.stringify({ id: 'via-http' }),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(res.status, 202);
  assert.deepEqual((await result('via-http')).message, { id: 'via-http' });

  const fanIn = queueClient(stack.descriptor).getQueueClient('fan-in');
  await fanIn.createIfNotExists();
  await fanIn.sendMessage(b64(JSON.stringify({ ids: ['fan-a', 'fan-b', 'fan-c'] })));
  for (const id of ['fan-a', 'fan-b', 'fan-c']) assert.deepEqual((await result(id)).message, { id });
});

function report(what: string, samples: number[]): void {
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  console.log(`${what}, ms: median ${median}, min ${samples[0]}, max ${samples.at(-1)} (n=${samples.length})`);
}

async function measureLatency(label: string): Promise<void> {
  const external: number[] = [];
  const inApp: number[] = [];
  for (let i = 0; i < 10; i++) {
    // Let the queue go idle between samples.
    await new Promise((r) => setTimeout(r, 200));
    const id = `latency-${label}-${i}`;
    const sentAt = Date.now();
    await work.sendMessage(b64(JSON.stringify({ id })));
    external.push((await result(id)).processedAt - sentAt);

    await new Promise((r) => setTimeout(r, 200));
    const viaHttp = `latency-http-${label}-${i}`;
    const postedAt = Date.now();
    await fetch(`${host.baseUrl}/api/enqueue`, { method: 'POST', body: JSON.stringify({ id: viaHttp }) });
    inApp.push((await result(viaHttp)).processedAt - postedAt);
  }
  report(`[${label}] queue pickup latency, message sent by another process (SDK send → handler start)`, external);
  report(`[${label}] queue pickup latency, written by an output binding (HTTP request → queue handler start)`, inApp);
  assert.equal(external.length + inApp.length, 20);
}

test('pickup latency of an idle queue, watching Azurite (measured, reported; not asserted)', async () => {
  await measureLatency('azurite watch');
});

test('pickup latency of an idle queue, polling only (measured, reported; not asserted)', async () => {
  assert.equal(await host.stop(), 0);
  host = await startHost({ env: { AzureWebJobsStorage: stack.descriptor.storage.connectionString } });
  await measureLatency('polling');
});
