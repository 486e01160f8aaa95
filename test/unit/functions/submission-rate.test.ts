import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpRequest } from '@azure/functions';
import { principalKey, RateLimiter } from '../../../functions/http/submission-rate.js';
import { ApiError } from '../../../shared/domain/api-errors.js';

test('a burst, then a steady rate; 429 says when a token is back; principals are independent', () => {
  let now = 0;
  const limiter = new RateLimiter({ burst: 3, perMinute: 60 }, () => now);
  for (let i = 0; i < 3; i++) limiter.take('alice');
  assert.throws(
    () => limiter.take('alice'),
    (err: unknown) =>
      err instanceof ApiError && err.status === 429 && (err as { retryAfterSeconds?: number }).retryAfterSeconds === 1,
  );
  limiter.take('bob'); // another principal has its own bucket
  now += 1_000; // one token per second comes back
  limiter.take('alice');
  assert.throws(
    () => limiter.take('alice'),
    (err: unknown) => err instanceof ApiError && err.status === 429,
  );
  now += 60_000; // refills up to the burst, not beyond
  for (let i = 0; i < 3; i++) limiter.take('alice');
  assert.throws(() => limiter.take('alice'));
});

test('the principal is the identity authorize returned, else the function key (hashed), else anonymous', () => {
  const request = (headers: Record<string, string>, url = 'http://127.0.0.1/api/x') =>
    // The two members principalKey reads, as the worker's HttpRequest has them.
    ({ url, headers: new Headers(headers) }) as unknown as HttpRequest;
  assert.equal(principalKey(request({}), { kind: 'user', userId: 'u1' }), 'principal:u1');
  assert.equal(principalKey(request({}), { kind: 'token', id: 'oid-1' }), 'principal:oid-1');
  const byKey = principalKey(request({ 'x-functions-key': 'k1' }), { kind: 'key' });
  assert.match(byKey, /^key:/);
  assert.ok(!byKey.includes('k1'), 'the key itself is not kept');
  assert.equal(principalKey(request({}, 'http://127.0.0.1/api/x?code=k1'), { kind: 'key' }), byKey);
  assert.notEqual(principalKey(request({ 'x-functions-key': 'k2' }), { kind: 'key' }), byKey);
  assert.equal(principalKey(request({}), { kind: 'key' }), 'anonymous');
});
