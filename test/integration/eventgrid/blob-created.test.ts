// BlobCreated from Azurite writes: handshake first, creates and overwrites announced, nothing re-announced
// after a restart, and the write → delivery latency measured.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import {
  type Azurite,
  drained,
  type EmulatorProcess,
  eventOf,
  removeTempDirs,
  startAzurite,
  startEmulator,
  tempDir,
  WebhookReceiver,
  waitFor,
  writeConfig,
} from './harness.js';

let azurite: Azurite;
let receiver: WebhookReceiver;
let emulator: EmulatorProcess;
let container: ContainerClient;
let dataDir: string;
let configPath: string;

before(async () => {
  azurite = await startAzurite();
  receiver = new WebhookReceiver();
  await receiver.start();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('manifests');
  await container.createIfNotExists();
  // Written before the emulator ever ran: must never be announced (Azure only reports later writes).
  await container.getBlockBlobClient('ws/exp/preexisting.json').upload('{}', 2);
  dataDir = await tempDir('blob-data');
  configPath = await writeConfig(dataDir, {
    subscriptionId: '11111111-2222-3333-4444-555555555555',
    resourceGroup: 'rg-local',
    pollIntervalMs: 100,
    subscriptions: [
      {
        name: 'manifest-blobs',
        source: { type: 'container', name: 'manifests' },
        endpoint: receiver.url('manifests', '?functionName=Host.Functions.submit&code=secret'),
        filter: { includedEventTypes: ['Microsoft.Storage.BlobCreated'], subjectEndsWith: '.json' },
      },
      {
        name: 'manifest-blobs-ce',
        source: { type: 'container', name: 'manifests' },
        endpoint: receiver.url('manifests-ce'),
        schema: 'CloudEventSchemaV1_0',
      },
    ],
  });
  emulator = await startEmulator({
    dataDir,
    configPath,
    connectionString: azurite.connectionString,
    azuriteLocation: azurite.location,
  });
});

after(async () => {
  await emulator?.stop();
  await receiver?.stop();
  await removeTempDirs();
  await azurite?.stop();
});

test('the validation handshake happens before any delivery', async () => {
  await waitFor('handshake', () => receiver.to('manifests')[0]);
  await container.getBlockBlobClient('ws/exp/first.json').upload('{"a":1}', 7, {
    blobHTTPHeaders: { blobContentType: 'application/json' },
  });
  await waitFor('first delivery', () => receiver.notifications('manifests')[0]);
  const [first] = receiver.to('manifests');
  assert.equal(first?.method, 'POST');
  assert.equal(first?.headers['aeg-event-type'], 'SubscriptionValidation');
  const validation = first ? eventOf(first) : undefined;
  assert.equal(validation?.eventType, 'Microsoft.EventGrid.SubscriptionValidationEvent');
  assert.match(
    String(validation?.data.validationUrl),
    /^http:\/\/127\.0\.0\.1:\d+\/eventsubscriptions\/manifest-blobs\/validate\?id=/,
  );
  // CloudEvents subscriptions get the OPTIONS abuse-protection check instead.
  const [ceFirst] = receiver.to('manifests-ce');
  assert.equal(ceFirst?.method, 'OPTIONS');
  assert.equal(ceFirst?.headers['webhook-request-origin'], 'eventgrid.azure.net');
});

test('an uploaded blob is delivered as Microsoft.Storage.BlobCreated in Azure’s shape', async () => {
  const delivery = await waitFor('BlobCreated for first.json', () =>
    receiver
      .notifications('manifests')
      .find((r) => eventOf(r).subject === '/blobServices/default/containers/manifests/blobs/ws/exp/first.json'),
  );
  assert.equal(delivery.headers['content-type'], 'application/json');
  assert.equal(delivery.headers['aeg-subscription-name'], 'manifest-blobs');
  assert.equal(delivery.headers['aeg-delivery-count'], '0');
  assert.equal(delivery.headers['aeg-metadata-version'], '1');
  assert.equal(delivery.headers['aeg-data-version'], '');
  const body = JSON.parse(delivery.body) as unknown[];
  assert.equal(body.length, 1);
  const e = eventOf(delivery);
  assert.equal(
    e.topic,
    '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-local/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
  );
  assert.equal(e.eventType, 'Microsoft.Storage.BlobCreated');
  assert.equal(e.metadataVersion, '1');
  assert.equal(e.dataVersion, '');
  assert.match(String(e.id), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.ok(!Number.isNaN(Date.parse(String(e.eventTime))));
  const props = await container.getBlobClient('ws/exp/first.json').getProperties();
  assert.equal(e.data.api, 'PutBlob');
  assert.equal(e.data.eTag, props.etag?.replace(/"/g, ''));
  assert.equal(e.data.contentType, 'application/json');
  assert.equal(e.data.contentLength, 7);
  assert.equal(e.data.blobType, 'BlockBlob');
  assert.equal(e.data.url, container.getBlobClient('ws/exp/first.json').url);
  assert.match(String(e.data.sequencer), /^[0-9a-f]{48}$/);
  assert.equal(typeof e.data.requestId, 'string');
  assert.equal(typeof e.data.clientRequestId, 'string');

  // The CloudEvents subscription (no filter) gets the same event as a structured CloudEvent.
  const ce = await waitFor('CloudEvent for first.json', () =>
    receiver
      .notifications('manifests-ce')
      .find((r) => eventOf(r).subject === '/blobServices/default/containers/manifests/blobs/ws/exp/first.json'),
  );
  assert.equal(ce.headers['content-type'], 'application/cloudevents+json; charset=utf-8');
  const c = eventOf(ce);
  assert.equal(c.specversion, '1.0');
  assert.equal(c.type, 'Microsoft.Storage.BlobCreated');
  assert.equal(c.source, e.topic);
  assert.equal(c.id, e.id);
  assert.deepEqual(c.data, e.data);
});

test('an overwrite is a new BlobCreated; metadata changes and non-matching names are not', async () => {
  const blob = container.getBlockBlobClient('ws/exp/first.json');
  await blob.upload('{"a":22}', 8);
  const etag = (await blob.getProperties()).etag?.replace(/"/g, '');
  const second = await waitFor('BlobCreated for the overwrite', () =>
    receiver.notifications('manifests').find((r) => eventOf(r).data.eTag === etag),
  );
  assert.equal(eventOf(second).data.contentLength, 8);
  const firstSeq = String(eventOf(receiver.notifications('manifests')[0]!).data.sequencer);
  assert.ok(String(eventOf(second).data.sequencer) > firstSeq, 'sequencer grows with each write');

  const before = receiver.notifications('manifests').length;
  await blob.setMetadata({ processed: 'true' });
  await container.getBlockBlobClient('ws/exp/notes.txt').upload('x', 1); // filtered out by subjectEndsWith
  // The CloudEvents subscription has no filter, so it proves notes.txt was seen before we check the other.
  await waitFor('notes.txt on the unfiltered subscription', () =>
    receiver.notifications('manifests-ce').find((r) => String(eventOf(r).subject).endsWith('notes.txt')),
  );
  await drained(emulator.port, 'manifest-blobs');
  assert.equal(receiver.notifications('manifests').length, before);
});

test('deleting a blob emits BlobDeleted to subscriptions that include it', async () => {
  await container.getBlockBlobClient('ws/exp/notes.txt').delete();
  const deleted = await waitFor('BlobDeleted', () =>
    receiver.notifications('manifests-ce').find((r) => eventOf(r).type === 'Microsoft.Storage.BlobDeleted'),
  );
  assert.equal(eventOf(deleted).subject, '/blobServices/default/containers/manifests/blobs/ws/exp/notes.txt');
  assert.ok(!receiver.notifications('manifests').some((r) => eventOf(r).eventType === 'Microsoft.Storage.BlobDeleted'));
});

test('blob-created → delivery latency (measured)', async () => {
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const name = `ws/exp/latency-${i}.json`;
    await container.getBlockBlobClient(name).upload('{}', 2);
    const t0 = performance.now();
    const r = await waitFor(`delivery of ${name}`, () =>
      receiver.notifications('manifests').find((x) => String(eventOf(x).subject).endsWith(name)),
    );
    samples.push(r.at - t0);
    // Spread uploads over the poll cycle so the samples cover every phase of it.
    await new Promise((res) => setTimeout(res, 37));
  }
  samples.sort((a, b) => a - b);
  const p = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  assert.ok(emulator.logs.some((l) => l.msg === 'watching Azurite writes for early listings'));
  console.log(
    `blob-created → webhook latency over ${samples.length} uploads (poll 100 ms + write hints): p50 ${p(0.5).toFixed(1)} ms, p95 ${p(0.95).toFixed(1)} ms, max ${samples.at(-1)!.toFixed(1)} ms`,
  );
  // Every upload was delivered (waitFor above); the latency is measured and printed, not asserted.
});

test('after a restart, blobs already announced are not announced again; new writes are', async () => {
  const stopped = await emulator.stop();
  assert.equal(stopped.code, 0);
  const handshakesBefore = receiver
    .to('manifests')
    .filter((r) => r.headers['aeg-event-type'] === 'SubscriptionValidation').length;
  const countBefore = receiver.notifications('manifests').length;
  // A write while the emulator is down is announced when it comes back (it was not seen yet).
  await container.getBlockBlobClient('ws/exp/while-down.json').upload('{}', 2);
  emulator = await startEmulator({
    dataDir,
    configPath,
    connectionString: azurite.connectionString,
    azuriteLocation: azurite.location,
  });
  await container.getBlockBlobClient('ws/exp/after-restart.json').upload('{}', 2);
  // Both writes delivered means the listing after the restart is done: had it re-announced an old blob, that
  // event would have been sent by now (same listing, earlier in it).
  for (const name of ['while-down.json', 'after-restart.json']) {
    await waitFor(`${name} delivery`, () =>
      receiver.notifications('manifests').find((r) => String(eventOf(r).subject).endsWith(name)),
    );
  }
  const newSubjects = receiver
    .notifications('manifests')
    .slice(countBefore)
    .map((r) => String(eventOf(r).subject).split('/blobs/')[1]);
  assert.deepEqual(newSubjects.sort(), ['ws/exp/after-restart.json', 'ws/exp/while-down.json']);
  assert.ok(!receiver.notifications('manifests').some((r) => String(eventOf(r).subject).endsWith('preexisting.json')));
  // The endpoint was validated before and did not change: no second handshake.
  const handshakesAfter = receiver
    .to('manifests')
    .filter((r) => r.headers['aeg-event-type'] === 'SubscriptionValidation').length;
  assert.equal(handshakesAfter, handshakesBefore);
});
