// Delivery failures follow Azure's rules: retried on the (scaled) schedule with aeg-delivery-count,
// 400/413 dead-lettered at once, attempts capped, and pending deliveries kept across a restart.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
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

let receiver: WebhookReceiver;
let emulator: EmulatorProcess;
let dataDir: string;

function subscription(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    source: { type: 'topic' as const },
    endpoint: receiver.url(name),
    filter: { subjectBeginsWith: `/${name}/` },
    ...extra,
  };
}

async function publish(port: number, subject: string, id = `${subject}-${Date.now()}`): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/api/events?api-version=2018-01-01`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'aeg-sas-key': TOPIC_KEY },
    body: JSON.stringify([
      { id, subject, eventType: 'Test.Event', eventTime: new Date().toISOString(), data: { n: 1 }, dataVersion: '1.0' },
    ]),
  });
  assert.equal(res.status, 200);
  return id;
}

async function deadLetters(dir: string, name: string): Promise<Record<string, unknown>[]> {
  try {
    const text = await readFile(join(dir, 'deadletter', `${name}.jsonl`), 'utf8');
    return text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

before(async () => {
  receiver = new WebhookReceiver();
  await receiver.start();
  receiver.setManualValidation('manual-check');
  dataDir = await tempDir('retry-data');
  const configPath = await writeConfig(dataDir, {
    // 10 s → 10 ms, 30 s → 30 ms, 1 min → 60 ms …
    retryTimeScale: 0.001,
    subscriptions: [
      subscription('flaky'),
      subscription('rejecting'),
      subscription('too-large'),
      subscription('always-down', { retryPolicy: { maxDeliveryAttempts: 4 } }),
      subscription('manual-check'),
    ],
  });
  emulator = await startEmulator({ dataDir, configPath, connectionString: UNREACHABLE_STORAGE });
});

after(async () => {
  await emulator?.stop();
  await receiver?.stop();
  await removeTempDirs();
});

test('an endpoint can validate by GETting the validationUrl', async () => {
  const id = await publish(emulator.port, '/manual-check/one');
  const d = await waitFor('delivery after manual validation', () => receiver.notifications('manual-check')[0]);
  assert.equal(eventOf(d).id, id);
  const [handshake] = receiver.to('manual-check');
  assert.equal(handshake?.headers['aeg-event-type'], 'SubscriptionValidation');
});

test('500 twice, then delivered on the third attempt with aeg-delivery-count', async () => {
  receiver.script('flaky', [500, 500]);
  const id = await publish(emulator.port, '/flaky/one');
  const got = await waitFor('three attempts', () => {
    const n = receiver.notifications('flaky');
    return n.length >= 3 ? n : undefined;
  });
  await drained(emulator.port, 'flaky');
  const attempts = receiver.notifications('flaky');
  assert.equal(attempts.length, 3, 'no further attempt after success');
  assert.deepEqual(
    attempts.map((a) => a.headers['aeg-delivery-count']),
    ['0', '1', '2'],
  );
  for (const a of attempts) assert.equal(eventOf(a).id, id);
  // The gaps follow the scaled schedule: ≥10 ms before the 1st retry, ≥30 ms before the 2nd.
  assert.ok(got[1]!.at - got[0]!.at >= 9, `first retry after ${got[1]!.at - got[0]!.at} ms`);
  assert.ok(got[2]!.at - got[1]!.at >= 29, `second retry after ${got[2]!.at - got[1]!.at} ms`);
  assert.equal((await deadLetters(dataDir, 'flaky')).length, 0);
});

test('400 is dead-lettered at once, without retry', async () => {
  receiver.script('rejecting', [400, 400, 400]);
  const id = await publish(emulator.port, '/rejecting/one');
  const [record] = await waitFor('dead letter', async () => {
    const d = await deadLetters(dataDir, 'rejecting');
    return d.length > 0 ? d : undefined;
  });
  await drained(emulator.port, 'rejecting');
  assert.equal(receiver.notifications('rejecting').length, 1);
  assert.equal(record?.deadLetterReason, 'NonRetriableStatus');
  assert.equal(record?.deliveryAttempts, 1);
  assert.equal(record?.lastHttpStatusCode, 400);
  assert.equal((record?.event as { id: string } | undefined)?.id, id);
});

test('413 is dead-lettered at once too', async () => {
  receiver.script('too-large', [413]);
  await publish(emulator.port, '/too-large/one');
  await waitFor('dead letter', async () => ((await deadLetters(dataDir, 'too-large')).length > 0 ? true : undefined));
  assert.equal(receiver.notifications('too-large').length, 1);
});

test('after maxDeliveryAttempts failures the event is dead-lettered', async () => {
  receiver.script('always-down', [503, 500, 502, 500, 500, 500]);
  await publish(emulator.port, '/always-down/one');
  const [record] = await waitFor(
    'dead letter',
    async () => {
      const d = await deadLetters(dataDir, 'always-down');
      return d.length > 0 ? d : undefined;
    },
    15_000,
  );
  assert.equal(record?.deadLetterReason, 'MaxDeliveryAttemptsExceeded');
  assert.equal(record?.deliveryAttempts, 4);
  assert.equal(receiver.notifications('always-down').length, 4);
});

test('pending deliveries survive a restart of the emulator', async () => {
  const dir = await tempDir('restart-data');
  const configPath = await writeConfig(dir, {
    // 10 s → 5 s: long enough to stop the emulator between the failed attempt and its retry.
    retryTimeScale: 0.5,
    subscriptions: [subscription('restart-retry'), subscription('restart-unvalidated')],
  });
  receiver.setRefuseValidation('restart-unvalidated', true);
  let em = await startEmulator({ dataDir: dir, configPath, connectionString: UNREACHABLE_STORAGE });
  receiver.script('restart-retry', [500]);
  const retried = await publish(em.port, '/restart-retry/one');
  const waiting = await publish(em.port, '/restart-unvalidated/one');
  await waitFor('first failed attempt', () => receiver.notifications('restart-retry')[0]);
  const stopped = await em.stop();
  assert.equal(stopped.code, 0);
  assert.equal(receiver.notifications('restart-retry').length, 1);
  assert.equal(receiver.notifications('restart-unvalidated').length, 0);

  receiver.setRefuseValidation('restart-unvalidated', false);
  em = await startEmulator({ dataDir: dir, configPath, connectionString: UNREACHABLE_STORAGE });
  try {
    const second = await waitFor('retry after restart', () => receiver.notifications('restart-retry')[1]);
    assert.equal(eventOf(second).id, retried);
    assert.equal(second.headers['aeg-delivery-count'], '1');
    const late = await waitFor('delivery once validated', () => receiver.notifications('restart-unvalidated')[0]);
    assert.equal(eventOf(late).id, waiting);
    assert.equal(late.headers['aeg-delivery-count'], '0');
  } finally {
    await em.stop();
  }
});
