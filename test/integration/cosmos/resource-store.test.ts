import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureContainers } from '../../../shared/cosmos/containers.js';
import { CosmosResourceStore } from '../../../shared/cosmos/cosmos-resource-store.js';
import type { BatchAiResourceId } from '../../../shared/domain/resource-id.js';
import { ConcurrencyConflictError, type StoredResource } from '../../../shared/stores/resource-store.js';
import { cosmosClient, startTestStack, type TestStack } from '../../support/stack.js';

// ResourceStore's contract, run against the real Cosmos emulator through the real SDK.
let stack: TestStack;
let store: CosmosResourceStore;
const sub = '00000000-0000-0000-0000-000000000001';

before(async () => {
  stack = await startTestStack({ services: ['cosmos'] });
  const { resources } = await ensureContainers(cosmosClient(stack.descriptor), 'store-test');
  store = new CosmosResourceStore(resources);
});
after(() => stack?.dispose());

function record(
  id: BatchAiResourceId,
  properties: Record<string, unknown> = {},
  createdAt = new Date().toISOString(),
): StoredResource {
  return { id, resourceId: JSON.stringify(id), record: properties, bodyHash: 'h', createdAt, updatedAt: createdAt };
}
const ws = (workspace: string, resourceGroup = 'rg'): BatchAiResourceId => ({
  kind: 'workspace',
  subscriptionId: sub,
  resourceGroup,
  workspace,
});
const exp = (experiment: string): BatchAiResourceId => ({
  kind: 'experiment',
  subscriptionId: sub,
  resourceGroup: 'rg',
  workspace: 'w1',
  experiment,
});

test('createIfAbsent creates once and then returns what is stored; names are case-insensitive', async () => {
  const first = await store.createIfAbsent(record(exp('Exp1'), { a: 1 }));
  assert.equal(first.created, true);
  assert.ok(first.resource.etag);
  const again = await store.createIfAbsent(record(exp('exp1'), { a: 2 }));
  assert.equal(again.created, false);
  assert.deepEqual(again.resource.record, { a: 1 });
  assert.equal((await store.get(exp('EXP1')))?.resourceId, JSON.stringify(exp('Exp1')));
});

test('replace with a stale etag is a ConcurrencyConflictError', async () => {
  const { resource } = await store.createIfAbsent(record(exp('etag-test'), { v: 0 }));
  await store.replace({ ...resource, record: { v: 1 }, etag: resource.etag! });
  await assert.rejects(
    store.replace({ ...resource, record: { v: 2 }, etag: resource.etag! }),
    ConcurrencyConflictError,
  );
  assert.deepEqual((await store.get(exp('etag-test')))?.record, { v: 1 });
});

test('concurrent read-modify-write updates lose nothing', async () => {
  await store.createIfAbsent(record(exp('counter'), { n: 0 }));
  await Promise.all(
    Array.from({ length: 25 }, () =>
      store.update(exp('counter'), (current) => ({
        ...current,
        record: { n: (current.record.n as number) + 1 },
      })),
    ),
  );
  assert.deepEqual((await store.get(exp('counter')))?.record, { n: 25 });
});

test('children list in creation order, page by page, with continuation tokens', async () => {
  const parent: BatchAiResourceId = {
    kind: 'experiment',
    subscriptionId: sub,
    resourceGroup: 'rg',
    workspace: 'w2',
    experiment: 'e',
  };
  const base = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < 7; i++) {
    await store.createIfAbsent(
      record({ ...parent, kind: 'job', job: `job-${i}` }, {}, new Date(base + i * 1000).toISOString()),
    );
  }
  const names: string[] = [];
  let continuation: string | undefined;
  let pages = 0;
  do {
    const page = await store.listChildren(parent, 'job', { maxItems: 3, ...(continuation ? { continuation } : {}) });
    pages += 1;
    assert.ok(page.items.length <= 3);
    for (const item of page.items) names.push((item.id as { job: string }).job);
    continuation = page.continuation;
  } while (continuation && pages < 10);
  assert.deepEqual(names, ['job-0', 'job-1', 'job-2', 'job-3', 'job-4', 'job-5', 'job-6']);
  assert.equal(pages, 3);
  const otherWorkspace: BatchAiResourceId = { ...parent, workspace: 'w3' };
  await store.createIfAbsent(record({ ...otherWorkspace, kind: 'job', job: 'elsewhere' }));
  const own = await store.listChildren(parent, 'job', { maxItems: 100 });
  assert.ok(
    !own.items.some((j) => (j.id as { job: string }).job === 'elsewhere'),
    "another workspace's jobs never show",
  );
});

test('workspaces list by subscription and by resource group; delete removes', async () => {
  await store.createIfAbsent(record(ws('a', 'rg-one')));
  await store.createIfAbsent(record(ws('b', 'rg-two')));
  const all = await store.listWorkspaces({ subscriptionId: sub });
  assert.deepEqual(all.items.map((w) => (w.id as { workspace: string }).workspace).sort(), ['a', 'b']);
  const one = await store.listWorkspaces({ subscriptionId: sub, resourceGroup: 'RG-ONE' });
  assert.deepEqual(
    one.items.map((w) => (w.id as { workspace: string }).workspace),
    ['a'],
  );
  assert.equal(await store.delete(ws('a', 'rg-one')), true);
  assert.equal(await store.delete(ws('a', 'rg-one')), false);
  assert.equal(await store.get(ws('a', 'rg-one')), undefined);
});
