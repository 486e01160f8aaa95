import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SecretBox } from '../../../shared/secrets/secret-box.js';

const box = new SecretBox(randomBytes(32));
const job = {
  nodeCount: 2,
  secrets: [
    { name: 'TOKEN', value: 's3cr3t!' },
    { name: 'REF', valueSecretReference: { secretUrl: 'https://kv/x' } },
  ],
  mountVolumes: { azureFileShares: [{ accountName: 'acct', credentials: { accountKey: 'key==' } }] },
  containerSettings: { imageSourceRegistry: { image: 'x', credentials: { username: 'u', password: 'p@ss!' } } },
  environmentVariables: [{ name: 'value', value: 'not a secret' }],
};

test('sealAll hides every secret and openAll brings back the original', () => {
  const sealed = box.sealAll(job);
  const text = JSON.stringify(sealed);
  // Each secret has a character base64url never produces, so a ciphertext cannot contain it by chance.
  for (const secret of ['s3cr3t!', 'key==', 'p@ss!']) assert.ok(!text.includes(secret), `${secret} is sealed`);
  assert.ok(text.includes('not a secret'), 'ordinary environment variables stay readable');
  assert.equal(sealed.secrets[1]?.valueSecretReference?.secretUrl, 'https://kv/x');
  assert.deepEqual(box.openAll(sealed), job);
});

test('sealing is randomized, tamper-evident and bound to the key', () => {
  const a = box.seal('x');
  assert.notEqual(a, box.seal('x'));
  // Flip one bit of the ciphertext itself (editing a base64 character could leave the bytes unchanged: it did,
  // 1 time in 64, when the character was already the replacement).
  const prefix = a.slice(0, a.lastIndexOf(':') + 1);
  const raw = Buffer.from(a.slice(prefix.length), 'base64url');
  raw[raw.length - 1]! ^= 0x01;
  const tampered = `${prefix}${raw.toString('base64url')}`;
  assert.notEqual(tampered, a);
  assert.throws(() => box.open(tampered));
  assert.throws(() => new SecretBox(randomBytes(32)).open(a));
  assert.throws(() => new SecretBox(randomBytes(16)), /32 bytes/);
});

test('fingerprints ignore key order and differ with the secret', () => {
  assert.equal(box.fingerprint({ a: 1, b: [1, { c: 2, d: 3 }] }), box.fingerprint({ b: [1, { d: 3, c: 2 }], a: 1 }));
  assert.notEqual(box.fingerprint(job), box.fingerprint({ ...job, secrets: [{ name: 'TOKEN', value: 'other' }] }));
  assert.notEqual(new SecretBox(randomBytes(32)).fingerprint(job), box.fingerprint(job));
});

test('rotation: the current key seals with its id, older keys still open, v1 values stay readable', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const before = new SecretBox(oldKey);
  const sealedBefore = before.seal('kept across rotation');
  assert.match(sealedBefore, new RegExp(`^sealed:v2:${before.currentKeyId}:`));
  const after = new SecretBox([newKey, oldKey]);
  assert.notEqual(after.currentKeyId, before.currentKeyId);
  assert.equal(after.open(sealedBefore), 'kept across rotation');
  const sealedAfter = after.seal('new');
  assert.equal(SecretBox.keyIdOf(sealedAfter), after.currentKeyId);
  assert.throws(() => before.open(sealedAfter), /no secrets key/);
  assert.throws(() => new SecretBox(newKey).open(sealedBefore), /retired/);
  // Fingerprints (repeated-PUT detection) survive a rotation while the oldest key is kept.
  assert.equal(after.fingerprint(job), before.fingerprint(job));
});

test('sealed:v1 values (before key ids) open with whichever kept key sealed them', () => {
  const oldKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', oldKey, iv);
  const body = Buffer.concat([cipher.update('legacy', 'utf8'), cipher.final()]);
  const v1 = `sealed:v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  assert.equal(new SecretBox([randomBytes(32), oldKey]).open(v1), 'legacy');
  assert.throws(() => new SecretBox(randomBytes(32)).open(v1), /no secrets key opens/);
  assert.ok(SecretBox.isSealed(v1));
});
