import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isPoisonEntry, openPoisonEntry, poisonEntry } from '../../../functions/submission-errors.js';
import { SecretBox } from '../../../shared/secrets/secret-box.js';

const box = new SecretBox(randomBytes(32));
const why = {
  rejectedAt: '2026-01-01T00:00:00.000Z',
  channel: 'queue' as const,
  source: 'job-submissions',
  error: { code: 'InvalidRequestBody', message: 'bad' },
  dequeueCount: 1,
};
const onQueue = (entry: unknown) => Buffer.from(JSON.stringify(entry)).toString('base64');

test('an entry keeps the whole message sealed and fits a 64 KB queue message, compressed if need be', () => {
  const small = poisonEntry(box, '{"password":"p4ss"}', why);
  assert.equal(small.encoding, 'text');
  assert.ok(!JSON.stringify(small).includes('p4ss'));
  assert.equal(openPoisonEntry(box, small), '{"password":"p4ss"}');
  const deep = `{"password":"p4ss","a":${'{"a":'.repeat(6_000)}1${'}'.repeat(6_000)}}`;
  const compressed = poisonEntry(box, Buffer.from(deep).toString('base64'), why);
  assert.equal(compressed.encoding, 'gzip+base64');
  assert.ok(onQueue(compressed).length <= 64 * 1024);
  assert.equal(Buffer.from(openPoisonEntry(box, compressed), 'base64').toString('utf8'), deep);
  const noise = randomBytes(47 * 1024).toString('base64');
  const truncated = poisonEntry(box, noise, why);
  assert.equal(truncated.truncated, true);
  assert.ok(onQueue(truncated).length <= 64 * 1024);
  assert.ok(noise.startsWith(openPoisonEntry(box, truncated)));
});

test('only entries sealed by our key count as ours; raw or forged messages are resealed', () => {
  assert.ok(isPoisonEntry(onQueue(poisonEntry(box, 'x', why)), box));
  assert.ok(isPoisonEntry(JSON.stringify(poisonEntry(box, 'x', why)), box), 'plain JSON text too');
  assert.ok(!isPoisonEntry(onQueue({ id: 'x', properties: { secrets: [{ name: 'a', value: 's' }] } }), box));
  assert.ok(!isPoisonEntry('not base64, not json', box));
  const forged = { ...poisonEntry(new SecretBox(randomBytes(32)), 'x', why) };
  assert.ok(!isPoisonEntry(onQueue(forged), box), 'sealed by another key');
  const smuggled = { ...poisonEntry(box, 'x', why), note: 'password=s3cret' };
  assert.ok(!isPoisonEntry(onQueue(smuggled), box), 'an extra field could carry anything');
});
