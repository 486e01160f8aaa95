import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type BatchAiResourceId,
  batchAiResourceName,
  formatBatchAiResourceId,
  KEY_VAULT,
  parseArmResourceIdOf,
  parseBatchAiResourceId,
  parseBatchAiResourceIdOf,
  RESOURCE_TYPES,
  SUBNET,
} from '../../../shared/domain/index.js';
import { KEY_VAULT_ID, SUB, SUBNET_ID, WS_ID } from './fixtures.js';

describe('Batch AI resource ids', () => {
  test('each kind parses to its parts', () => {
    assert.deepEqual(parseBatchAiResourceId(`${WS_ID}/experiments/e1/jobs/j1`), {
      ok: true,
      value: {
        kind: 'job',
        subscriptionId: SUB,
        resourceGroup: 'demo_resource_group',
        workspace: 'demo_workspace',
        experiment: 'e1',
        job: 'j1',
      },
    });
    const kinds = [
      [WS_ID, 'workspace'],
      [`${WS_ID}/experiments/e1`, 'experiment'],
      [`${WS_ID}/clusters/c1`, 'cluster'],
      [`${WS_ID}/fileServers/f1`, 'fileServer'],
    ] as const;
    for (const [id, kind] of kinds) {
      const parsed = parseBatchAiResourceId(id);
      assert.ok(parsed.ok && parsed.value.kind === kind, `${id} -> ${JSON.stringify(parsed)}`);
    }
  });

  test('fixed words are case-insensitive; formatting restores the spec casing', () => {
    const sloppy = `/SUBSCRIPTIONS/${SUB}/resourcegroups/rg/PROVIDERS/microsoft.batchai/Workspaces/w/fileservers/f/`;
    const parsed = parseBatchAiResourceId(sloppy);
    assert.ok(parsed.ok);
    assert.equal(
      formatBatchAiResourceId(parsed.value),
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w/fileServers/f`,
    );
  });

  test('malformed ids are rejected with a reason', () => {
    const bad = [
      '',
      'subscriptions/x',
      `/subscriptions/${SUB}`,
      `/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w`,
      `/subscriptions/${SUB}/resourceGroups/rg./providers/Microsoft.BatchAI/workspaces/w`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/clusters/c`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/workspace/w/clusters/c`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w/jobs/j`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w/clusters/c/nodes/n`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w/experiments`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w//clusters/c`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w w`,
    ];
    for (const id of bad) {
      const parsed = parseBatchAiResourceId(id);
      assert.equal(parsed.ok, false, id);
      if (!parsed.ok) assert.ok(parsed.reason.length > 0);
    }
  });

  test('parseBatchAiResourceIdOf insists on the kind', () => {
    const parsed = parseBatchAiResourceIdOf('cluster', `${WS_ID}/fileServers/f`);
    assert.deepEqual(parsed, { ok: false, reason: 'it names a Batch AI file server' });
  });

  test('format and parse are inverse for any valid names (property-based)', () => {
    const name = fc.stringMatching(/^[-\w]{1,64}$/);
    const id = fc.oneof(
      fc.record({
        kind: fc.constant('workspace' as const),
        subscriptionId: fc.uuid(),
        resourceGroup: name,
        workspace: name,
      }),
      fc.record({
        kind: fc.constant('experiment' as const),
        subscriptionId: fc.uuid(),
        resourceGroup: name,
        workspace: name,
        experiment: name,
      }),
      fc.record({
        kind: fc.constant('job' as const),
        subscriptionId: fc.uuid(),
        resourceGroup: name,
        workspace: name,
        experiment: name,
        job: name,
      }),
      fc.record({
        kind: fc.constant('cluster' as const),
        subscriptionId: fc.uuid(),
        resourceGroup: name,
        workspace: name,
        cluster: name,
      }),
      fc.record({
        kind: fc.constant('fileServer' as const),
        subscriptionId: fc.uuid(),
        resourceGroup: name,
        workspace: name,
        fileServer: name,
      }),
    );
    fc.assert(
      fc.property(id, (value: BatchAiResourceId) => {
        const text = formatBatchAiResourceId(value);
        const parsed = parseBatchAiResourceId(text);
        assert.deepEqual(parsed, { ok: true, value: { ...value } });
        assert.ok(text.endsWith(`/${batchAiResourceName(value)}`));
      }),
    );
  });

  test('type strings are the nested ARM types', () => {
    assert.equal(RESOURCE_TYPES.job, 'Microsoft.BatchAI/workspaces/experiments/jobs');
    assert.equal(RESOURCE_TYPES.fileServer, 'Microsoft.BatchAI/workspaces/fileServers');
  });
});

describe('other providers’ ids', () => {
  test('subnets and key vaults are recognised by type', () => {
    assert.equal(parseArmResourceIdOf(SUBNET, SUBNET_ID).ok, true);
    assert.equal(parseArmResourceIdOf(KEY_VAULT, KEY_VAULT_ID).ok, true);
    const wrong = parseArmResourceIdOf(SUBNET, KEY_VAULT_ID);
    assert.equal(wrong.ok, false);
    if (!wrong.ok) assert.match(wrong.reason, /Microsoft\.KeyVault\/vaults/);
  });
});
