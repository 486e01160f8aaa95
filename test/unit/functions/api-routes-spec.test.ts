import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_ROUTES } from '../../../functions/http/api-routes.js';
import { readSpec } from '../domain/reference-data.js';

// The routes table must offer every operation of the 2018-05-01 spec, on the spec's method and path.

const normalize = (path: string) => path.replace(/^\//, '').toLowerCase();

test('every spec operation is a route with the same method and path', () => {
  const spec = readSpec();
  assert.equal(spec.apiVersion, '2018-05-01');
  assert.ok(spec.operations.length >= 29, `only ${spec.operations.length} operations in the fixture`);
  const problems: string[] = [];
  for (const op of spec.operations) {
    const route = API_ROUTES.find((r) => r.operationId === op.operationId);
    if (!route) problems.push(`${op.operationId}: no route`);
    else if (route.method !== op.method || normalize(route.route) !== normalize(op.path)) {
      problems.push(`${op.operationId}: ${route.method} ${route.route} != spec ${op.method} ${op.path}`);
    }
  }
  assert.deepEqual(problems, []);
});
