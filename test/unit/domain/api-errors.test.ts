import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  API_ERRORS,
  ApiError,
  type ApiErrorCode,
  apiErrorFromBody,
  createApiError,
  formatApiErrorMessage,
  isRetriable,
  NonRetriableApiError,
  RetriableApiError,
} from '../../../shared/domain/index.js';

test('every catalogue entry has an HTTP error status, and only 429/5xx are retriable', () => {
  for (const [code, spec] of Object.entries(API_ERRORS)) {
    assert.ok(spec.status >= 400 && spec.status < 600, code);
    assert.equal(spec.retry === 'later', spec.status === 429 || spec.status >= 500, code);
  }
});

test('messages fill every placeholder', () => {
  for (const code of Object.keys(API_ERRORS) as ApiErrorCode[]) {
    const names = [...API_ERRORS[code].message.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
    const params = Object.fromEntries(names.map((n) => [n, `<${n}>`]));
    const message = formatApiErrorMessage(code, params as never);
    assert.doesNotMatch(message, /\{\w+\}/, code);
    for (const n of names) assert.ok(message.includes(`<${n}>`), `${code} lost ${n}`);
  }
});

test('errors carry retry behaviour in their type', () => {
  const bad = createApiError(
    'InvalidPropertyValue',
    { target: 'properties.nodeCount', reason: 'must be >= 1' },
    { target: 'properties.nodeCount' },
  );
  assert.ok(bad instanceof NonRetriableApiError && bad instanceof ApiError);
  assert.equal(bad.status, 400);
  assert.equal(isRetriable(bad), false);
  const busy = createApiError('TooManyRequests', { retryAfterSeconds: 5 }, { retryAfterSeconds: 5 });
  assert.ok(busy instanceof RetriableApiError);
  assert.equal(busy.retryAfterSeconds, 5);
  assert.equal(isRetriable(busy), true);
  assert.equal(isRetriable(new Error('socket hang up')), true);
});

test('the wire shape is ARM CloudError', () => {
  const error = createApiError('ResourceNotFound', { type: 'job', name: 'j1' });
  assert.deepEqual(error.toCloudError(), {
    error: { code: 'ResourceNotFound', message: "The job 'j1' was not found." },
  });
  const rebuilt = apiErrorFromBody({
    code: 'InvalidRequestBody',
    message: 'm',
    target: 't',
    details: [{ code: 'X', message: 'y' }],
  });
  assert.ok(rebuilt instanceof NonRetriableApiError);
  assert.equal(rebuilt.status, 400);
  assert.deepEqual(rebuilt.toBody(), {
    code: 'InvalidRequestBody',
    message: 'm',
    target: 't',
    details: [{ code: 'X', message: 'y' }],
  });
  assert.equal(apiErrorFromBody({ code: 'NoSuchCode', message: 'm' }).status, 500);
});
