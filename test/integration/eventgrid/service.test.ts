// The emulator as the stack supervisor runs it: eventGridService() spec, config and key files, readiness,
// a publish through the SDK, and a clean stop.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import {
  eventGridService,
  eventGridTopicEndpoint,
  loadOrCreateTopicKey,
  writeEventGridConfig,
} from '../../../local/eventgrid/service.js';
import { Supervisor } from '../../../local/stack/supervisor.js';
import { processAlive } from '../../support/processes.js';
import {
  type Azurite,
  eventOf,
  freePort,
  removeTempDirs,
  startAzurite,
  tempDir,
  WebhookReceiver,
  waitFor,
} from './harness.js';

let azurite: Azurite;
let receiver: WebhookReceiver;

before(async () => {
  azurite = await startAzurite();
  receiver = new WebhookReceiver();
  await receiver.start();
});

after(async () => {
  await receiver?.stop();
  await azurite?.stop();
  await removeTempDirs();
});

test('the supervisor starts, waits for and stops the emulator from eventGridService()', async () => {
  const dataDir = await tempDir('service');
  const topicKey = await loadOrCreateTopicKey(dataDir);
  assert.equal(await loadOrCreateTopicKey(dataDir), topicKey, 'the key is stable across starts');
  assert.equal(Buffer.from(topicKey, 'base64').length, 32);
  await assert.rejects(
    writeEventGridConfig(dataDir, { subscriptions: [{ name: 'x', source: { type: 'topic' }, endpoint: 'nope' }] }),
    /Invalid Event Grid emulator config/,
  );
  const configPath = await writeEventGridConfig(dataDir, {
    subscriptions: [
      { name: 'vm-events', source: { type: 'topic' }, endpoint: receiver.url('vm-events') },
      { name: 'manifest-blobs', source: { type: 'container', name: 'manifests' }, endpoint: receiver.url('manifests') },
    ],
  });
  const port = await freePort();
  const supervisor = new Supervisor(join(dataDir, 'logs'));
  try {
    await supervisor.start([
      eventGridService({
        dataDir,
        port,
        configPath,
        storageConnectionString: azurite.connectionString,
        topicKey,
        after: [], // Azurite belongs to the test stack's own supervisor here
      }),
    ]);
    const client = new EventGridPublisherClient(
      eventGridTopicEndpoint(port),
      'EventGrid',
      new AzureKeyCredential(topicKey),
      {
        allowInsecureConnection: true,
      },
    );
    await client.send([{ id: 'svc-1', subject: '/x', eventType: 'T', dataVersion: '1', data: {} }]);
    const d = await waitFor('delivery', () => receiver.notifications('vm-events')[0]);
    assert.equal(eventOf(d).id, 'svc-1');
  } finally {
    await supervisor.stop();
  }
  assert.equal(supervisor.pid('eventgrid') === undefined || !processAlive(supervisor.pid('eventgrid')!), true);
});
