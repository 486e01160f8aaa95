// Event Grid and EventGrid-sourced blob triggers through the real host's webhooks, and timer triggers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { ContainerClient } from '@azure/storage-blob';
import { blobClient } from '../../support/stack.js';
import { hostOnAzuriteForFile, waitFor } from './harness.js';

const file = hostOnAzuriteForFile();

const container = (name: string): ContainerClient => blobClient(file.stack.descriptor).getContainerClient(name);

async function readJson(c: string, name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse((await container(c).getBlobClient(name).downloadToBuffer()).toString('utf8'));
  } catch {
    return undefined;
  }
}

function gridEvent(data: Record<string, unknown>, id = randomUUID()) {
  return {
    id,
    topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool',
    subject: 'virtualMachines/0',
    eventType: 'Microsoft.Resources.ResourceActionSuccess',
    eventTime: new Date().toISOString(),
    data,
    dataVersion: '1',
    metadataVersion: '1',
  };
}

function post(path: string, body: unknown, headers: Record<string, string>) {
  return fetch(`${file.host.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const egPath = () =>
  `/runtime/webhooks/eventgrid?functionName=onGridEvent&code=${file.host.keys.systemKeys.eventgrid_extension}`;
const blobsPath = (fn = 'onManifest') =>
  `/runtime/webhooks/blobs?functionName=Host.Functions.${fn}&code=${file.host.keys.systemKeys.blobs_extension}`;
const NOTIFY = { 'aeg-event-type': 'Notification' };

test('timer: runOnStartup fires once at start with isPastDue false', async () => {
  const fired = await waitFor('timers/startup.json', () => readJson('timers', 'startup.json'));
  assert.equal(fired.isPastDue, false);
  assert.deepEqual(fired.schedule, { adjustForDST: true });
});

test('admin API: POST /admin/functions/<timer> runs a non-HTTP function once (202)', async () => {
  const before = await waitFor('timers/startup.json', () => readJson('timers', 'startup.json'));
  const res = await fetch(`${file.host.baseUrl}/admin/functions/startupTimer`, {
    method: 'POST',
    headers: { 'x-functions-key': file.host.keys.masterKey, 'content-type': 'application/json' },
    body: JSON.stringify({ input: '' }),
  });
  assert.equal(res.status, 202);
  await waitFor('the timer to run again', async () => {
    const now = await readJson('timers', 'startup.json');
    return now !== undefined && now.at !== before.at;
  });
});

test('eventgrid: the system key (or master key) is required', async () => {
  const noKey = await post('/runtime/webhooks/eventgrid?functionName=onGridEvent', [gridEvent({})], NOTIFY);
  assert.equal(noKey.status, 401);
  const fnKey = await post(
    `/runtime/webhooks/eventgrid?functionName=onGridEvent&code=${file.host.keys.functionKeys.default}`,
    [gridEvent({})],
    NOTIFY,
  );
  assert.equal(fnKey.status, 401);
  const master = await post(
    `/runtime/webhooks/eventgrid?functionName=onGridEvent&code=${file.host.keys.masterKey}`,
    [gridEvent({})],
    NOTIFY,
  );
  assert.equal(master.status, 200);
});

test('eventgrid: SubscriptionValidation handshake echoes the validation code', async () => {
  const res = await post(
    egPath(),
    [
      {
        id: randomUUID(),
        topic: '/subscriptions/s',
        subject: '',
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        eventTime: new Date().toISOString(),
        data: { validationCode: 'code-123', validationUrl: 'https://example.invalid/validate' },
        dataVersion: '2',
        metadataVersion: '1',
      },
    ],
    { 'aeg-event-type': 'SubscriptionValidation' },
  );
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { validationResponse: 'code-123' });
});

test('eventgrid: CloudEvents OPTIONS abuse protection echoes WebHook-Request-Origin', async () => {
  const res = await fetch(`${file.host.baseUrl}${egPath()}`, {
    method: 'OPTIONS',
    headers: { 'WebHook-Request-Origin': 'eventgrid.azure.net' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('webhook-allowed-origin'), 'eventgrid.azure.net');
});

test('eventgrid: a batch of Event Grid schema events invokes the function once per event', async () => {
  const events = [gridEvent({ n: 1 }), gridEvent({ n: 2 })];
  const res = await post(egPath(), events, NOTIFY);
  assert.equal(res.status, 200);
  for (const e of events) {
    const stored = await readJson('events', `${e.id}.json`);
    assert.deepEqual(stored, e);
  }
});

test('eventgrid: CloudEvents 1.0, single and batch', async () => {
  const ce = (n: number) => ({
    specversion: '1.0',
    id: randomUUID(),
    source: '/subscriptions/s/resourceGroups/rg',
    type: 'Local.Test.Happened',
    subject: 'things/1',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { n },
  });
  const single = ce(1);
  const r1 = await post(egPath(), single, { ...NOTIFY, 'content-type': 'application/cloudevents+json' });
  assert.equal(r1.status, 200);
  assert.deepEqual(await readJson('events', `${single.id}.json`), single);
  const batch = [ce(2), ce(3)];
  const r2 = await post(egPath(), batch, { ...NOTIFY, 'content-type': 'application/cloudevents-batch+json' });
  assert.equal(r2.status, 200);
  for (const e of batch) assert.deepEqual(await readJson('events', `${e.id}.json`), e);
});

test('eventgrid: 5xx when the handler throws (so the sender retries), 4xx when malformed, 404 unknown function', async () => {
  assert.equal((await post(egPath(), [gridEvent({ throw: true })], NOTIFY)).status, 500);
  assert.equal((await post(egPath(), '{not json', NOTIFY)).status, 400);
  assert.equal((await post(egPath(), [{ hello: 'world' }], NOTIFY)).status, 400);
  assert.equal((await post(egPath(), [gridEvent({})], {})).status, 400);
  const unknown = `/runtime/webhooks/eventgrid?functionName=nope&code=${file.host.keys.systemKeys.eventgrid_extension}`;
  assert.equal((await post(unknown, [gridEvent({})], NOTIFY)).status, 404);
});

function blobCreated(containerName: string, blobName: string, url: string) {
  return {
    id: randomUUID(),
    topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
    subject: `/blobServices/default/containers/${containerName}/blobs/${blobName}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    data: { api: 'PutBlob', contentType: 'application/json', blobType: 'BlockBlob', url },
    dataVersion: '',
    metadataVersion: '1',
  };
}

test('blob trigger (EventGrid source): reads the created blob and passes bytes + metadata', async () => {
  const manifests = container('manifests');
  await manifests.createIfNotExists();
  const blob = manifests.getBlockBlobClient('job-1.json');
  const content = JSON.stringify({ job: 1 });
  await blob.upload(content, content.length, {
    blobHTTPHeaders: { blobContentType: 'application/json' },
    metadata: { owner: 'tests' },
  });

  const noKey = await post('/runtime/webhooks/blobs?functionName=Host.Functions.onManifest', [], NOTIFY);
  assert.equal(noKey.status, 401);

  const res = await post(blobsPath(), [blobCreated('manifests', 'job-1.json', blob.url)], NOTIFY);
  assert.ok(res.status >= 200 && res.status < 300, `status ${res.status}`);
  const out = await waitFor('manifest-results/job-1.json', () => readJson('manifest-results', 'job-1.json'));
  assert.equal(out.content, content);
  assert.equal(out.isBuffer, true);
  assert.equal(out.blobTrigger, 'manifests/job-1.json');
  assert.equal(out.name, 'job-1.json');
  assert.equal(out.uri, blob.url);
  assert.equal(out.contentType, 'application/json');
  assert.deepEqual(out.metadata, { owner: 'tests' });
});

test('blob trigger: blobs outside the path pattern are ignored; a throwing handler answers 5xx', async () => {
  const other = container('elsewhere');
  await other.createIfNotExists();
  const ignored = other.getBlockBlobClient('x.json');
  await ignored.upload('{}', 2);
  const res = await post(blobsPath(), [blobCreated('elsewhere', 'x.json', ignored.url)], NOTIFY);
  assert.ok(res.status >= 200 && res.status < 300);
  assert.equal(await readJson('manifest-results', 'x.json'), undefined);

  const bad = container('manifests').getBlockBlobClient('bad.json');
  await bad.upload('{"throw":true}', 14);
  const failed = await post(blobsPath(), [blobCreated('manifests', 'bad.json', bad.url)], NOTIFY);
  assert.equal(failed.status, 500);

  const validation = await post(
    blobsPath(),
    [
      {
        id: randomUUID(),
        topic: '/subscriptions/s',
        subject: '',
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        eventTime: new Date().toISOString(),
        data: { validationCode: 'blob-code' },
        dataVersion: '2',
        metadataVersion: '1',
      },
    ],
    { 'aeg-event-type': 'SubscriptionValidation' },
  );
  assert.deepEqual(await validation.json(), { validationResponse: 'blob-code' });
});
