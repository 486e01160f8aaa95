import assert from 'node:assert/strict';
import { test } from 'node:test';

test('the compiled tests run as ES modules', () => {
  assert.equal(typeof import.meta.url, 'string');
  assert.match(import.meta.url, /^file:/);
});
