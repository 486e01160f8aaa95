import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { completeJobFile } from '../../../shared/domain/job-file.js';
import { BatchAiApi } from '../../support/api-client.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { readRecipes } from '../../unit/domain/reference-data.js';

let stack: TestStack;
let api: BatchAiApi;
let clusterId: string;

before(async () => {
  // The fuzz run alone makes ~40 job PUTs: this file tests shapes and races, not the per-principal submission rate
  // (hostile-input does), so its budget must not depend on how fast the tests before the race ran.
  stack = await startTestStack({ appSettings: { BATCHAI_SUBMISSION_RATE: '1000/6000' } });
  api = new BatchAiApi(stack.descriptor);
  clusterId = await api.seedWorkspace('ws', { experiment: 'recipes' });
});
after(() => stack?.dispose());

const STORAGE_KEY = 'c2VjcmV0LWtleQ==';

test("every sample job file round-trips through PUT and GET with the spec's shapes", () =>
  withServiceOutput(stack, async () => {
    const recipes = readRecipes({ AZURE_BATCHAI_STORAGE_ACCOUNT: 'batchaisamples' });
    assert.ok(recipes.length >= 5);
    for (const [i, recipe] of recipes.entries()) {
      const body = completeJobFile(recipe.body, {
        clusterId,
        storageAccount: { name: 'batchaisamples', key: STORAGE_KEY },
      });
      const path = api.jobPath('ws', 'recipes', `recipe-${i}`);
      const put = await api.call('PUT', path, { body });
      assert.equal(put.status, 202, `${recipe.name}: ${put.text}`);
      const done = await api.waitForOperation(put.headers.get('location')!);
      assert.equal(done.status, 200, recipe.name);
      const view = done.body as { id: string; name: string; type: string; properties: Record<string, unknown> };
      assert.equal(view.id, path);
      assert.equal(view.name, `recipe-${i}`);
      assert.equal(view.type, 'Microsoft.BatchAI/workspaces/experiments/jobs');
      assert.ok(typeof view.properties.toolType === 'string', recipe.name);
      assert.ok(!done.text.includes(STORAGE_KEY), `${recipe.name}: the storage key is never returned`);
      const sent = (body as { properties: Record<string, unknown> }).properties;
      assert.equal(view.properties.nodeCount, sent.nodeCount, recipe.name);
      // Submitting the file again changes nothing.
      assert.equal((await api.call('PUT', path, { body })).status, 200, recipe.name);
    }
  }));

test('random and malformed bodies never get a 5xx', () =>
  withServiceOutput(stack, async () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    const near = fc.record({
      properties: fc.record(
        {
          cluster: fc.oneof(fc.constant({ id: clusterId }), fc.jsonValue({ maxDepth: 2 })),
          nodeCount: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.string(), fc.constant(null)),
          stdOutErrPathPrefix: fc.oneof(fc.string(), fc.integer()),
          customToolkitSettings: fc.oneof(fc.record({ commandLine: fc.string() }), json),
          pyTorchSettings: fc.oneof(fc.record({ pythonScriptFilePath: fc.string() }), json),
          constraints: fc.oneof(fc.record({ maxWallClockTime: fc.string() }), json),
          schedulingPriority: fc.oneof(fc.constantFrom('low', 'normal', 'high', 'urgent'), json),
        },
        { requiredKeys: [] },
      ),
    });
    const targets = [
      (n: number) => api.jobPath('ws', 'recipes', `fuzz-${n}`),
      (n: number) => `${api.workspacePath('ws')}/clusters/fuzz-${n}`,
      (n: number) => `${api.workspacePath('ws')}/fileServers/fuzz-${n}`,
      (n: number) => api.workspacePath(`fuzz-${n}`),
    ];
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(json, near),
        fc.nat({ max: targets.length - 1 }),
        fc.boolean(),
        async (body, target, raw) => {
          n += 1;
          const path = targets[target]!(n);
          const response = raw
            ? await api.call('PUT', path, {
                rawBody: JSON.stringify(body).slice(0, -1),
                headers: { 'content-type': 'application/json' },
              })
            : await api.call('PUT', path, { body });
          assert.ok(response.status < 500, `${response.status} for ${JSON.stringify(body)}: ${response.text}`);
          if (response.status >= 400) {
            const error = (response.body as { error?: { code?: unknown; message?: unknown } }).error;
            assert.equal(typeof error?.code, 'string', response.text);
            assert.equal(typeof error?.message, 'string', response.text);
          }
        },
      ),
      { numRuns: 150 },
    );
  }));

test('concurrent PATCHes of a cluster all land, and concurrent submissions of one job make one job', () =>
  withServiceOutput(stack, async () => {
    const tags = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api.call('PATCH', `${api.workspacePath('ws')}/clusters/c1`, {
          body: { properties: { scaleSettings: { manual: { targetNodeCount: i } } } },
        }),
      ),
    );
    for (const r of tags) assert.equal(r.status, 200, r.text);
    const body = {
      properties: {
        cluster: { id: clusterId },
        nodeCount: 1,
        stdOutErrPathPrefix: '/x',
        customToolkitSettings: { commandLine: 'x' },
      },
    };
    const submissions = await Promise.all(
      Array.from({ length: 8 }, () => api.call('PUT', api.jobPath('ws', 'recipes', 'raced'), { body })),
    );
    for (const r of submissions) assert.ok(r.status === 202 || r.status === 200, r.text);
    const creationTimes = new Set(
      submissions.map((r) => (r.body as { properties: { creationTime: string } }).properties.creationTime),
    );
    assert.equal(creationTimes.size, 1, 'every submission saw the same job');
    const accepted = submissions.find((r) => r.status === 202);
    assert.ok(accepted, 'the first submission is accepted as a long-running operation');
    const done = await api.waitForOperation(accepted.headers.get('location')!);
    assert.equal(
      (done.body as { properties: { provisioningState: string } }).properties.provisioningState,
      'succeeded',
    );
  }));
