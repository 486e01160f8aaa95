import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openPoisonEntry } from '../../../functions/submission-errors.js';
import { SecretBox } from '../../../shared/secrets/secret-box.js';
import { BatchAiApi } from '../../support/api-client.js';
import { blobClient, queueClient, startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';

// Every way in lands on one submit path: the same validation and the same idempotency for HTTP PUT, a
// job-submissions queue message and a manifest blob delivered through Event Grid.
let stack: TestStack;
let api: BatchAiApi;
let clusterId: string;

before(async () => {
  stack = await startTestStack();
  api = new BatchAiApi(stack.descriptor);
  clusterId = await api.seedWorkspace('ws');
});
after(() => stack?.dispose());

const t = (name: string, body: () => Promise<void>) => test(name, () => withServiceOutput(stack, body));

const properties = () => ({
  cluster: { id: clusterId },
  nodeCount: 1,
  stdOutErrPathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/out',
  customToolkitSettings: { commandLine: 'python train.py' },
});

async function jobState(name: string): Promise<Record<string, unknown> | undefined> {
  const r = await api.call<{ properties: Record<string, unknown> }>('GET', api.jobPath('ws', 'exp', name));
  return r.status === 200 ? r.body.properties : undefined;
}

async function sendToQueue(queueName: string, message: unknown): Promise<void> {
  const queue = queueClient(stack.descriptor).getQueueClient(queueName);
  await queue.createIfNotExists();
  const text = typeof message === 'string' ? message : JSON.stringify(message);
  await queue.sendMessage(Buffer.from(text).toString('base64'));
}

interface PoisonEntry {
  sealedMessage: string;
  error: { code: string; message: string; target?: string };
}

/** The poison queue as stored: each message's raw text, and its entry when it is one of ours. */
async function poisonQueue(): Promise<Array<{ raw: string; entry?: PoisonEntry }>> {
  const poison = queueClient(stack.descriptor).getQueueClient('job-submissions-poison');
  if (!(await poison.exists())) return [];
  const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => {
    try {
      const entry = JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as PoisonEntry;
      return { raw: m.messageText, ...(typeof entry.sealedMessage === 'string' ? { entry } : {}) };
    } catch {
      return { raw: m.messageText };
    }
  });
}

async function poisonEntries(): Promise<PoisonEntry[]> {
  return (await poisonQueue()).flatMap((m) => (m.entry ? [m.entry] : []));
}

/** Nothing stored in the poison queue, raw or decoded, contains the secret. */
async function assertPoisonHoldsNo(secret: string): Promise<void> {
  for (const { raw } of await poisonQueue()) {
    assert.ok(!raw.includes(secret), 'the secret is not in a raw poison message');
    assert.ok(!Buffer.from(raw, 'base64').toString('utf8').includes(secret), 'nor in a decoded one');
  }
}

t('a bad queue message ends in the poison queue with the reason, its secrets sealed', async () => {
  const secret = 'poison-s3cret-1f7a';
  await sendToQueue('job-submissions', {
    id: api.jobPath('ws', 'exp', 'bad-queue'),
    properties: { ...properties(), nodeCount: 0, secrets: [{ name: 'TOKEN', value: secret }] },
  });
  // A secret somewhere no schema expects one: only sealing the message as a whole keeps it.
  await sendToQueue('job-submissions', `not json at all, password=${secret}`);
  const entries = await waitFor('two poison entries', async () => {
    const found = await poisonEntries();
    return found.length >= 2 ? found : undefined;
  });
  const targets = entries.map((e) => e.error.target ?? e.error.message);
  assert.ok(targets.includes('properties.nodeCount'), JSON.stringify(entries));
  assert.ok(
    entries.some((e) => /not JSON/.test(e.error.message)),
    JSON.stringify(entries),
  );
  for (const entry of entries) assert.match(entry.sealedMessage, /^sealed:v2:/);
  assert.equal(await jobState('bad-queue'), undefined, 'no half-created job');
  await assertPoisonHoldsNo(secret);
});

t('whatever the failure, what reaches the poison queue is sealed: plain JSON, 6,000 levels deep', async () => {
  const secret = 'deep-s3cret-77c2';
  const queue = queueClient(stack.descriptor).getQueueClient('job-submissions');
  await queue.createIfNotExists();
  // Not base64 (host.json's messageEncoding): the host cannot decode it and fails every delivery.
  await queue.sendMessage(
    JSON.stringify({ id: api.jobPath('ws', 'exp', 'plain'), properties: { secrets: [{ name: 'T', value: secret }] } }),
  );
  // Deep enough that the worker's conversion of the trigger metadata overflows the stack before the handler runs.
  const depth = 6_000;
  const deep = `{"password":"${secret}","a":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
  await sendToQueue('job-submissions', deep);
  const before = (await poisonEntries()).length;
  // Each is delivered maxDequeueCount (5) times, visibilityTimeout (10 s) apart, then moved and sealed.
  await waitFor(
    'two more sealed poison entries',
    async () => ((await poisonEntries()).length >= before + 2 ? true : undefined),
    180_000,
    200,
  );
  const all = await poisonQueue();
  assert.deepEqual(
    all.filter((m) => m.entry === undefined).map((m) => m.raw.slice(0, 80)),
    [],
    'every poison message is a sealed entry',
  );
  await assertPoisonHoldsNo(secret);
  // Sealed, not dropped: with the stack's key, both messages come back whole.
  const keys = (await readFile(join(stack.dataDir, 'secrets.key'), 'utf8')).trim().split('\n');
  const box = new SecretBox(keys.map((k) => Buffer.from(k, 'base64')));
  const opened = (await poisonEntries()).map((e) => openPoisonEntry(box, e as never));
  assert.ok(
    opened.some((m) => m.includes(`"value":"${secret}"`)),
    'the plain JSON message is kept',
  );
  assert.ok(
    opened.some((m) => Buffer.from(m, 'base64').toString('utf8') === deep || m === deep),
    'the deep message is kept',
  );
});

t('a manifest blob submits a job and moves to manifests-accepted', async () => {
  const blobs = blobClient(stack.descriptor);
  const manifests = blobs.getContainerClient('manifests');
  await manifests.createIfNotExists();
  const body = JSON.stringify({ properties: properties() });
  await manifests.getBlockBlobClient('ws/exp/from-blob.json').upload(body, body.length);
  const state = await waitFor('the manifest job', () => jobState('from-blob'));
  assert.equal(state.provisioningState === 'creating' || state.provisioningState === 'succeeded', true);
  await waitFor('the accepted manifest', async () =>
    (await blobs.getContainerClient('manifests-accepted').getBlobClient('ws/exp/from-blob.json').exists())
      ? true
      : undefined,
  );
  // The archive copy is written before the original is deleted (never lose a manifest): wait for the delete too.
  await waitFor('the original manifest removed', async () =>
    (await manifests.getBlobClient('ws/exp/from-blob.json').exists()) ? undefined : true,
  );
});

t('a bad manifest moves to manifests-rejected with an error report beside it', async () => {
  const blobs = blobClient(stack.descriptor);
  const manifests = blobs.getContainerClient('manifests');
  await manifests.createIfNotExists();
  const body = JSON.stringify({ properties: { ...properties(), customToolkitSettings: undefined } });
  await manifests.getBlockBlobClient('ws/exp/no-toolkit.json').upload(body, body.length);
  const rejected = blobs.getContainerClient('manifests-rejected');
  const report = await waitFor('the error report', async () => {
    const blob = rejected.getBlobClient('ws/exp/no-toolkit.json.error.json');
    return (await blob.exists()) ? JSON.parse((await blob.downloadToBuffer()).toString('utf8')) : undefined;
  });
  assert.equal(report.channel, 'blob-manifest');
  assert.match(report.error.message, /toolkit/i);
  // The report is written last: once it is there, the manifest has moved.
  assert.equal(await rejected.getBlobClient('ws/exp/no-toolkit.json').exists(), true);
  assert.equal(await manifests.getBlobClient('ws/exp/no-toolkit.json').exists(), false);
  assert.equal(await jobState('no-toolkit'), undefined);
});

t('the same job through HTTP, the queue and a manifest is one job', async () => {
  const name = 'everywhere';
  const put = await api.call('PUT', api.jobPath('ws', 'exp', name), { body: { properties: properties() } });
  assert.equal(put.status, 202, put.text);
  const first = await waitFor('the job', () => jobState(name));
  await sendToQueue('job-submissions', { id: api.jobPath('ws', 'exp', name), properties: properties() });
  const manifests = blobClient(stack.descriptor).getContainerClient('manifests');
  const body = JSON.stringify({ properties: properties() });
  await manifests.getBlockBlobClient(`ws/exp/${name}.json`).upload(body, body.length);
  await waitFor('the manifest accepted', async () =>
    (await blobClient(stack.descriptor)
      .getContainerClient('manifests-accepted')
      .getBlobClient(`ws/exp/${name}.json`)
      .exists())
      ? true
      : undefined,
  );
  // The queue message is done when the host has deleted it (Azurite counts invisible, in-flight messages too).
  const submissions = queueClient(stack.descriptor).getQueueClient('job-submissions');
  await waitFor('the queue message processed', async () =>
    (await submissions.getProperties()).approximateMessagesCount === 0 ? true : undefined,
  );
  const list = await api.call<{ value: { name: string; properties: { creationTime: string } }[] }>(
    'GET',
    `${api.workspacePath('ws')}/experiments/exp/jobs`,
  );
  const matching = list.body.value.filter((j) => j.name === name);
  assert.equal(matching.length, 1);
  assert.equal(matching[0]?.properties.creationTime, first.creationTime);
});

t('Logic Apps polling: 202 + Location + Retry-After, then 200 with the job', async () => {
  const put = await api.call('PUT', api.jobPath('ws', 'exp', 'logic-app'), { body: { properties: properties() } });
  assert.equal(put.status, 202);
  const location = put.headers.get('location')!;
  assert.ok(location.startsWith('http://127.0.0.1:'), 'an absolute Location, as Logic Apps requires');
  assert.equal(put.headers.get('retry-after'), '1');
  const done = await api.waitForOperation(location);
  assert.equal(done.status, 200);
  assert.equal((done.body as { name: string }).name, 'logic-app');
});
