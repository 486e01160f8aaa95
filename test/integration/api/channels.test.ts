import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
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

async function poisonEntries(): Promise<Array<{ error: { code: string; message: string; target?: string } }>> {
  const poison = queueClient(stack.descriptor).getQueueClient('job-submissions-poison');
  if (!(await poison.exists())) return [];
  const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')));
}

t('a queue message submits a job like a PUT does', async () => {
  await sendToQueue('job-submissions', { id: api.jobPath('ws', 'exp', 'from-queue'), properties: properties() });
  const state = await waitFor('the queued job', () => jobState('from-queue'));
  assert.equal(state.executionState, 'queued');
});

t('a bad queue message ends in the poison queue with the reason', async () => {
  await sendToQueue('job-submissions', {
    id: api.jobPath('ws', 'exp', 'bad-queue'),
    properties: { ...properties(), nodeCount: 0 },
  });
  await sendToQueue('job-submissions', 'not json at all');
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
  assert.equal(await jobState('bad-queue'), undefined, 'no half-created job');
  assert.ok(!JSON.stringify(entries).includes('poison-s3cret'), 'secrets stay sealed in the poison queue');
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
  assert.equal(await manifests.getBlobClient('ws/exp/from-blob.json').exists(), false);
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
  assert.equal(await rejected.getBlobClient('ws/exp/no-toolkit.json').exists(), true);
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
  await sleep(500); // give the queue message time to be processed too
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
