import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { API_ROUTES } from '../../../functions/http/api-routes.js';
import { BatchAiApi } from '../../support/api-client.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';

// Every route of the API with random path values, bodies and headers: never a 5xx, every error an ARM error body,
// and no answer ever carries a secret, not even one sent in the same request.

let stack: TestStack;
let api: BatchAiApi;

before(async () => {
  stack = await startTestStack();
  api = new BatchAiApi(stack.descriptor);
  await withServiceOutput(stack, () => api.seedWorkspace('ws'));
});
after(() => stack?.dispose());

const SECRET = 'FUZZ-s3cret-value-8d1e';

/** Path values: mostly ones that exist (so handlers run deep), sometimes anything at all. */
function pathValue(name: string): fc.Arbitrary<string> {
  const known: Record<string, string[]> = {
    subscriptionId: ['00000000-0000-0000-0000-000000000000'],
    resourceGroupName: ['batchai-local'],
    workspaceName: ['ws', 'fuzz-ws'],
    experimentName: ['exp', 'fuzz-exp'],
    jobName: ['fuzz-job', 'j1'],
    clusterName: ['cluster', 'fuzz-cluster'],
    fileServerName: ['fuzz-fs'],
    location: ['local', 'westus'],
    operationId: ['00000000-0000-0000-0000-000000000001'],
  };
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...(known[name] ?? ['x'])) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 80 }).map((s) => encodeURIComponent(s)) },
  );
}

const secretBearing = fc.record({
  properties: fc.record(
    {
      cluster: fc.constant({ id: '' }),
      nodeCount: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.string()),
      secrets: fc.constant([{ name: 'S', value: SECRET }]),
      customToolkitSettings: fc.record({ commandLine: fc.string() }),
      userAccountSettings: fc.constant({ adminUserName: 'a', adminUserPassword: SECRET }),
      mountVolumes: fc.constant({
        azureFileShares: [
          { accountName: 'a', azureFileUrl: SECRET, credentials: { accountKey: SECRET }, relativeMountPath: 'x' },
        ],
      }),
      sshConfiguration: fc.constant({ userAccountSettings: { adminUserName: 'a', adminUserPassword: SECRET } }),
    },
    { requiredKeys: [] },
  ),
  location: fc.oneof(fc.constant('local'), fc.string()),
});

const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  secretBearing.map((v) => JSON.stringify(v)),
  secretBearing.map((v) => JSON.stringify(v).slice(0, -3)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
);

const headers = fc
  .record(
    {
      'content-type': fc.constantFrom(
        'application/json',
        'text/plain',
        'application/xml',
        'application/json; charset=utf-16',
        '',
        'multipart/form-data; boundary=x',
      ),
      accept: fc.constantFrom('application/json', '*/*', 'text/html'),
      'x-ms-client-principal': fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64')),
      ),
      'if-match': fc.string({ maxLength: 20 }),
      'x-ms-client-request-id': fc.string({ maxLength: 40 }),
    },
    { requiredKeys: [] },
  )
  .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v))));

test('every route, random path values, bodies and headers: no 5xx, ARM error bodies, no secret in any answer', () =>
  withServiceOutput(stack, async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...API_ROUTES).chain((route) =>
          fc.record({
            route: fc.constant(route),
            values: fc.record(
              Object.fromEntries(
                [...route.route.matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, pathValue(m[1]!)]),
              ) as Record<string, fc.Arbitrary<string>>,
            ),
            body,
            headers,
            apiVersion: fc.oneof(
              { weight: 5, arbitrary: fc.constant('2018-05-01') },
              { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
            ),
          }),
        ),
        async ({ route, values, body, headers, apiVersion }) => {
          const path = route.route.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? 'x');
          const url = `${api.base}/${path}?api-version=${encodeURIComponent(apiVersion)}`;
          const response = await fetch(url, {
            method: route.method,
            headers: { ...headers, 'x-functions-key': api.key },
            ...(body !== undefined && route.method !== 'GET' ? { body } : {}),
          });
          const text = await response.text();
          seen.set(route.operationId, (seen.get(route.operationId) ?? 0) + 1);
          const what = `${route.method} ${path} → ${response.status} ${text.slice(0, 300)}`;
          assert.ok(response.status < 500, what);
          assert.ok(!text.includes(SECRET), `a secret came back: ${what}`);
          if (response.status >= 400 && text !== '') {
            const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
            assert.equal(typeof error?.code, 'string', what);
            assert.equal(typeof error?.message, 'string', what);
          }
        },
      ),
      { numRuns: 400 },
    );
    assert.ok(seen.size >= API_ROUTES.length * 0.8, `routes tried: ${seen.size} of ${API_ROUTES.length}`);
  }));
