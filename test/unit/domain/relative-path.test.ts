import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relativePathProblem } from '../../../shared/domain/index.js';

test('paths that stay under their root are accepted', () => {
  for (const path of ['a', 'a/b', 'models/epoch-1', 'a.b/c', '...', 'a..b']) {
    assert.equal(relativePathProblem(path), undefined, path);
  }
  assert.equal(relativePathProblem('.', { allowDot: true }), undefined);
  assert.equal(relativePathProblem('./a', { allowDot: true }), undefined);
});

test('every spelling of climbing out or starting elsewhere is refused', () => {
  for (const path of [
    '..',
    'a/../..',
    '..\\x',
    '/etc',
    '\\x',
    'C:\\x',
    'c:/x',
    '~/x',
    '%2e%2e',
    '%2E%2E/x',
    '%252e%252e',
    '%25252e%25252e',
    'a%2f..%2f..',
    'a\u0000b',
    '.',
  ]) {
    assert.notEqual(relativePathProblem(path), undefined, path);
  }
});
