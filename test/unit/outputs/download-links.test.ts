import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { DownloadSigner } from '../../../shared/outputs/download-links.js';

// Signed download links grant one path until their expiry, and nothing else.

const signer = new DownloadSigner(randomBytes(32));
const now = new Date('2026-01-01T00:00:00Z');
const link = new URL(
  signer.link('http://127.0.0.1:7071/api', 'azurefiles/a/s/x/out.txt', new Date(now.getTime() + 60_000)),
);

test('a link grants its path until it expires', () => {
  assert.deepEqual(signer.check(link.searchParams, now), { ok: true, path: 'azurefiles/a/s/x/out.txt' });
  const later = signer.check(link.searchParams, new Date(now.getTime() + 61_000));
  assert.equal(later.ok, false);
});

test('a changed path, expiry or signature grants nothing', () => {
  for (const [name, value] of [
    ['p', 'azurefiles/a/s/x/other.txt'],
    ['se', String(now.getTime() + 3_600_000)],
    ['sig', 'AAAA'],
  ] as const) {
    const q = new URLSearchParams(link.searchParams);
    q.set(name, value);
    const r = signer.check(q, now);
    assert.equal(r.ok, false, name);
  }
  assert.equal(new DownloadSigner(randomBytes(32)).check(link.searchParams, now).ok, false, 'another key');
});
