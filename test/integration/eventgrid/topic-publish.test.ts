// The custom topic endpoint, driven by the real @azure/eventgrid EventGridPublisherClient: key and SAS
// auth, Event Grid and CloudEvents input, filters, and schema conversion on delivery.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AzureKeyCredential,
  AzureSASCredential,
  EventGridPublisherClient,
  generateSharedAccessSignature,
} from '@azure/eventgrid';
import { UNREACHABLE_STORAGE } from '../../support/stack.js';
import {
  drained,
  type EmulatorProcess,
  eventOf,
  removeTempDirs,
  startEmulator,
  TOPIC_KEY,
  tempDir,
  WebhookReceiver,
  waitFor,
  writeConfig,
} from './harness.js';

const SUB = '/subscriptions/s1/resourceGroups/rg1';
// The local topic is plain http on loopback; Azure SDK clients refuse http unless told to allow it.
const INSECURE = { allowInsecureConnection: true };
const VMSS = `${SUB}/providers/Microsoft.Compute/virtualMachineScaleSets/pool`;

let receiver: WebhookReceiver;
let emulator: EmulatorProcess;

before(async () => {
  receiver = new WebhookReceiver();
  await receiver.start();
  const dataDir = await tempDir('topic-data');
  const configPath = await writeConfig(dataDir, {
    subscriptionId: 's1',
    resourceGroup: 'rg1',
    topicName: 'vm-events',
    subscriptions: [
      {
        name: 'vm-actions',
        source: { type: 'topic' },
        endpoint: receiver.url('vm-actions'),
        filter: {
          includedEventTypes: [
            'Microsoft.Resources.ResourceActionSuccess',
            'Microsoft.Resources.ResourceDeleteSuccess',
          ],
          subjectBeginsWith: VMSS.toUpperCase(), // Azure compares subjects case-insensitively by default
        },
      },
      {
        name: 'vm-health-ce',
        source: { type: 'topic' },
        endpoint: receiver.url('vm-health-ce'),
        schema: 'CloudEventSchemaV1_0',
        filter: { includedEventTypes: ['Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged'] },
      },
      {
        name: 'everything',
        source: { type: 'topic' },
        endpoint: receiver.url('everything'),
        filter: { subjectEndsWith: '/virtualMachines/7' },
      },
    ],
  });
  emulator = await startEmulator({ dataDir, configPath, connectionString: UNREACHABLE_STORAGE });
  await waitFor('handshakes', () => (receiver.requests.length >= 3 ? true : undefined));
});

after(async () => {
  await emulator?.stop();
  await receiver?.stop();
  await removeTempDirs();
});

function actionEvent(instance: string, eventType: string, id: string) {
  return {
    id,
    topic: SUB,
    subject: `${VMSS}/virtualMachines/${instance}`,
    eventType,
    eventTime: new Date(),
    dataVersion: '2',
    data: {
      operationName: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/deallocate/action',
      status: 'Succeeded',
    },
  };
}

test('EventGridPublisherClient (AzureKeyCredential) events are delivered, filters applied', async () => {
  const client = new EventGridPublisherClient(
    emulator.topicEndpoint,
    'EventGrid',
    new AzureKeyCredential(TOPIC_KEY),
    INSECURE,
  );
  await client.send([
    actionEvent('3', 'Microsoft.Resources.ResourceActionSuccess', 'a-1'),
    actionEvent('7', 'Microsoft.Resources.ResourceWriteSuccess', 'a-2'), // type not included
    { ...actionEvent('4', 'Microsoft.Resources.ResourceDeleteSuccess', 'a-3'), subject: '/subscriptions/s1/other' }, // subject
    { ...actionEvent('5', 'Microsoft.Resources.ResourceDeleteSuccess', 'a-4'), topic: undefined },
  ]);
  await waitFor('two deliveries', () => (receiver.notifications('vm-actions').length >= 2 ? true : undefined));
  await waitFor('subjectEndsWith match', () => receiver.notifications('everything')[0]);
  await drained(emulator.port, 'vm-actions', 'everything');
  const got = receiver.notifications('vm-actions').map(eventOf);
  assert.deepEqual(got.map((e) => e.id).sort(), ['a-1', 'a-4']);
  const a1 = got.find((e) => e.id === 'a-1')!;
  assert.equal(a1.topic, SUB, "a publisher's topic is kept (system events carry their ARM scope)");
  assert.equal(a1.eventType, 'Microsoft.Resources.ResourceActionSuccess');
  assert.equal(a1.dataVersion, '2');
  assert.equal(a1.metadataVersion, '1');
  assert.equal(a1.data.status, 'Succeeded');
  const a4 = got.find((e) => e.id === 'a-4')!;
  assert.equal(a4.topic, '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.EventGrid/topics/vm-events');
  const d = receiver.notifications('vm-actions').find((r) => eventOf(r).id === 'a-1')!;
  assert.equal(d.headers['aeg-data-version'], '2');
  assert.deepEqual(
    receiver.notifications('everything').map((r) => eventOf(r).id),
    ['a-2'],
  );
  assert.equal(receiver.notifications('vm-health-ce').length, 0);
});

test('CloudEvents published through the SDK reach CloudEvents and Event Grid subscriptions', async () => {
  const client = new EventGridPublisherClient(
    emulator.topicEndpoint,
    'CloudEvent',
    new AzureKeyCredential(TOPIC_KEY),
    INSECURE,
  );
  await client.send([
    {
      id: 'ce-1',
      source: '/subscriptions/s1',
      subject: `${VMSS}/virtualMachines/7`,
      type: 'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged',
      time: new Date('2026-01-01T00:00:00Z'),
      data: { resourceInfo: { properties: { availabilityState: 'Unavailable' } } },
    },
  ]);
  const ce = await waitFor('CloudEvent delivery', () => receiver.notifications('vm-health-ce')[0]);
  assert.equal(ce.headers['content-type'], 'application/cloudevents+json; charset=utf-8');
  const e = eventOf(ce);
  assert.equal(e.specversion, '1.0');
  assert.equal(e.id, 'ce-1');
  assert.equal(e.source, '/subscriptions/s1');
  assert.equal(e.type, 'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged');
  assert.deepEqual(e.data, { resourceInfo: { properties: { availabilityState: 'Unavailable' } } });
  // The unfiltered-by-type Event Grid subscription gets it converted: source → topic, type → eventType.
  const eg = await waitFor('converted delivery', () =>
    receiver.notifications('everything').find((r) => eventOf(r).id === 'ce-1'),
  );
  const g = eventOf(eg);
  assert.equal(g.topic, '/subscriptions/s1');
  assert.equal(g.eventType, 'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged');
  assert.equal(g.eventTime, '2026-01-01T00:00:00.000Z');
});

test('a wrong key is refused with 401 and nothing is delivered', async () => {
  await drained(emulator.port, 'vm-actions', 'vm-health-ce', 'everything');
  const before = receiver.requests.length;
  const client = new EventGridPublisherClient(
    emulator.topicEndpoint,
    'EventGrid',
    new AzureKeyCredential('d3Jvbmc='),
    INSECURE,
  );
  await assert.rejects(
    client.send([actionEvent('3', 'Microsoft.Resources.ResourceActionSuccess', 'bad-1')]),
    (err: unknown) => {
      assert.equal((err as { statusCode?: number }).statusCode, 401);
      return true;
    },
  );
  const noKey = await fetch(`${emulator.topicEndpoint}?api-version=2018-01-01`, { method: 'POST', body: '[]' });
  assert.equal(noKey.status, 401);
  assert.equal(((await noKey.json()) as { error: { code: string } }).error.code, 'Unauthorized');
  await drained(emulator.port, 'vm-actions', 'vm-health-ce', 'everything');
  assert.equal(receiver.requests.length, before);
});

test('a SAS token from generateSharedAccessSignature is accepted; an expired one is not', async () => {
  const key = new AzureKeyCredential(TOPIC_KEY);
  const good = await generateSharedAccessSignature(emulator.topicEndpoint, key, new Date(Date.now() + 60_000));
  const client = new EventGridPublisherClient(
    emulator.topicEndpoint,
    'EventGrid',
    new AzureSASCredential(good),
    INSECURE,
  );
  await client.send([actionEvent('3', 'Microsoft.Resources.ResourceActionSuccess', 'sas-1')]);
  await waitFor('sas delivery', () => receiver.notifications('vm-actions').find((r) => eventOf(r).id === 'sas-1'));
  const expired = await generateSharedAccessSignature(emulator.topicEndpoint, key, new Date(Date.now() - 60_000));
  const stale = new EventGridPublisherClient(
    emulator.topicEndpoint,
    'EventGrid',
    new AzureSASCredential(expired),
    INSECURE,
  );
  await assert.rejects(stale.send([actionEvent('3', 'Microsoft.Resources.ResourceActionSuccess', 'sas-2')]), /expired/);
});

test('malformed publishes get 400 with the reason', async () => {
  const post = (body: string, query = '?api-version=2018-01-01') =>
    fetch(`${emulator.topicEndpoint}${query}`, {
      method: 'POST',
      headers: { 'aeg-sas-key': TOPIC_KEY, 'content-type': 'application/json' },
      body,
    });
  assert.equal((await post('[]', '')).status, 400);
  assert.equal((await post('not json')).status, 400);
  const missing = await post(JSON.stringify([{ id: 'x', subject: 's', eventTime: new Date().toISOString() }]));
  assert.equal(missing.status, 400);
  assert.match(((await missing.json()) as { error: { message: string } }).error.message, /eventType/);
  const big = await post(`[${'"x",'.repeat(300_000)}"x"]`);
  assert.equal(big.status, 413);
});

test('publish → webhook latency (measured)', async () => {
  const client = new EventGridPublisherClient(
    emulator.topicEndpoint,
    'EventGrid',
    new AzureKeyCredential(TOPIC_KEY),
    INSECURE,
  );
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const id = `lat-${i}`;
    const t0 = performance.now();
    await client.send([actionEvent('3', 'Microsoft.Resources.ResourceActionSuccess', id)]);
    const r = await waitFor(id, () => receiver.notifications('vm-actions').find((x) => eventOf(x).id === id));
    samples.push(r.at - t0);
  }
  samples.sort((a, b) => a - b);
  const p = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  console.log(
    `publish → webhook latency over ${samples.length} events: p50 ${p(0.5).toFixed(1)} ms, p95 ${p(0.95).toFixed(1)} ms`,
  );
});

test('diagnostics and the manual validationUrl', async () => {
  const base = `http://127.0.0.1:${emulator.port}`;
  const subs = (await (await fetch(`${base}/api/subscriptions`)).json()) as { name: string; validated: boolean }[];
  assert.deepEqual(
    subs.map((s) => [s.name, s.validated]),
    [
      ['vm-actions', true],
      ['vm-health-ce', true],
      ['everything', true],
    ],
  );
  assert.equal((await fetch(`${base}/eventsubscriptions/vm-actions/validate?id=wrong`)).status, 400);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/api/events`)).status, 405);
});
