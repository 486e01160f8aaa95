import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ArmScaleSets, localStaticCredential } from '../../../shared/compute/arm-scale-sets.js';
import { buildScaleSet } from '../../../shared/compute/build-scale-set.js';
import { ComputeError } from '../../../shared/compute/scale-sets.js';
import { parseAgentBootstrap } from '../../../shared/domain/agent-bootstrap.js';
import { type ArmRecorder, type RecordedRequest, startArmRecorder } from './arm-recorder.js';

// The adapter's ARM requests, checked against recorded expectations (test/fixtures/arm-requests/) through a
// recording server that answers as ARM does: the Azure path is exercised without Azure and without our emulator.

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const fixtures = join(repoRoot, 'test/fixtures/arm-requests');
const SUB = '11111111-2222-3333-4444-555555555555';
const RG = 'batchai-rg';
const VMSS = 'bai-c0123456789abcdef01234567';
const IDENTITY = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/batchai-nodes`;
const SUBNET = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default`;

interface Expectation {
  operation: string;
  method: string;
  path: string;
  apiVersion: string;
  query?: Record<string, string>;
  body?: unknown;
  required?: string[];
}

const fill = (text: string, instanceId = '') =>
  text
    .replaceAll('{subscriptionId}', SUB)
    .replaceAll('{resourceGroup}', RG)
    .replaceAll('{vmss}', VMSS)
    .replaceAll('{instanceId}', instanceId);

async function expectation(file: string, instanceId?: string): Promise<Expectation> {
  return JSON.parse(fill(await readFile(join(fixtures, file), 'utf8'), instanceId)) as Expectation;
}

/** Every field of `expected` is in `actual` with the same value (objects field by field, arrays by index). */
function assertSubset(actual: unknown, expected: unknown, path = 'body'): void {
  if (expected !== null && typeof expected === 'object') {
    assert.ok(
      actual !== null && typeof actual === 'object',
      `${path}: expected an object/array, got ${JSON.stringify(actual)}`,
    );
    for (const [key, value] of Object.entries(expected)) {
      assertSubset((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
    return;
  }
  assert.deepEqual(actual, expected, `${path}`);
}

function valueAt(body: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], body);
}

function assertMatches(request: RecordedRequest | undefined, exp: Expectation): void {
  assert.ok(request, `no request was sent for ${exp.operation}`);
  assert.equal(request.method, exp.method, `${exp.operation}: method`);
  assert.equal(request.path, exp.path, `${exp.operation}: path`);
  assert.equal(request.query['api-version'], exp.apiVersion, `${exp.operation}: api-version`);
  for (const [k, v] of Object.entries(exp.query ?? {})) assert.equal(request.query[k], v, `${exp.operation}: ?${k}`);
  if (exp.body !== undefined) assertSubset(request.body, exp.body);
  for (const dotted of exp.required ?? []) {
    assert.notEqual(valueAt(request.body, dotted), undefined, `${exp.operation}: ${dotted} is required`);
  }
  assert.match(String(request.headers['authorization']), /^Bearer \S+/, `${exp.operation}: bearer token`);
}

describe('ArmScaleSets against recorded ARM request shapes', () => {
  let recorder: ArmRecorder;
  let compute: ArmScaleSets;

  before(async () => {
    recorder = await startArmRecorder();
    compute = new ArmScaleSets({
      endpoint: recorder.url,
      subscriptionId: SUB,
      resourceGroup: RG,
      credential: localStaticCredential(),
      pollIntervalMs: 5,
    });
  });
  after(() => recorder.close());

  const last = () => recorder.requests.at(-1);

  test('create: a low-priority cluster with subnet, identity and admin password becomes a Spot scale set', async () => {
    const definition = buildScaleSet(
      {
        role: 'clusterNode',
        resourceId: '/subscriptions/x/resourceGroups/y/providers/Microsoft.BatchAI/workspaces/w/clusters/c',
        scaleSetName: VMSS,
        vmSize: 'STANDARD_NC6',
        capacity: 3,
        lowPriority: true,
        subnetId: SUBNET,
        admin: { adminUserName: 'demoUser', adminUserPassword: 'Secret-Passw0rd!' },
      },
      {
        location: 'westus2',
        identityResourceId: IDENTITY,
        identityClientId: 'client-id',
        agentPackageUrl: 'https://example.blob.core.windows.net/agent/agent.tgz',
        queueEndpoint: 'https://acct.queue.core.windows.net/',
        blobEndpoint: 'https://acct.blob.core.windows.net/',
        heartbeatIntervalMs: 5000,
        mountRoot: '/mnt/batch/tasks/shared/LS_root/mounts',
      },
    );
    const state = await compute.createOrUpdate(VMSS, definition);
    assert.equal(state.capacity, 3);
    const put = recorder.requests.find((r) => r.method === 'PUT');
    assertMatches(put, await expectation('create-scale-set.json'));
    // customData is the agent bootstrap, and it carries no secret.
    const customData = valueAt(put!.body, 'properties.virtualMachineProfile.osProfile.customData') as string;
    const config = parseAgentBootstrap(customData);
    assert.ok(config.ok, 'customData parses as the agent bootstrap');
    assert.equal(config.value.scaleSetName, VMSS);
    assert.equal(config.value.identityClientId, 'client-id');
    assert.doesNotMatch(Buffer.from(customData, 'base64').toString('utf8'), /Secret-Passw0rd/);
    assert.doesNotMatch(JSON.stringify(config.value), /Secret-Passw0rd/);
  });

  test('get', async () => {
    const state = await compute.get(VMSS);
    assert.equal(state?.capacity, 3);
    assertMatches(last(), await expectation('get-scale-set.json'));
  });

  test('set capacity', async () => {
    await compute.setCapacity(VMSS, 5);
    assertMatches(
      recorder.requests.findLast((r) => r.method === 'PATCH'),
      await expectation('set-capacity.json'),
    );
    assert.equal((await compute.get(VMSS))?.capacity, 5);
  });

  test('list instances (with their instance view, for power states)', async () => {
    const instances = await compute.listInstances(VMSS);
    assert.deepEqual(
      instances.map((i) => i.instanceId),
      ['0', '1', '2', '3', '4'],
    );
    assert.equal(instances[0]?.powerState, 'running');
    assert.equal(instances[0]?.name, `${VMSS}_0`);
    assertMatches(last(), await expectation('list-instances.json'));
  });

  test('delete instances', async () => {
    await compute.deleteInstances(VMSS, ['1', '2']);
    assertMatches(
      recorder.requests.findLast((r) => r.path.endsWith('/delete')),
      await expectation('delete-instances.json'),
    );
    assert.deepEqual(
      (await compute.listInstances(VMSS)).map((i) => i.instanceId),
      ['0', '3', '4'],
    );
  });

  test('restart and reimage one instance', async () => {
    await compute.restartInstance(VMSS, '3');
    assertMatches(
      recorder.requests.findLast((r) => r.path.endsWith('/restart')),
      await expectation('restart-instance.json', '3'),
    );
    await compute.reimageInstance(VMSS, '4');
    assertMatches(
      recorder.requests.findLast((r) => r.path.endsWith('/reimage')),
      await expectation('reimage-instance.json', '4'),
    );
  });

  test('a failed long-running operation surfaces ARM error code and message', async () => {
    recorder.failNextOperation({
      code: 'OperationNotAllowed',
      message: 'Operation could not be completed as it results in exceeding approved standardNCFamily Cores quota.',
    });
    await assert.rejects(compute.setCapacity(VMSS, 500), (err: unknown) => {
      assert.ok(err instanceof ComputeError, String(err));
      assert.equal(err.code, 'OperationNotAllowed');
      assert.match(err.message, /quota/);
      return true;
    });
  });

  test('a refusal by ARM is not transient; no answer at all is', async () => {
    recorder.failNextOperation({ code: 'OperationNotAllowed', message: 'quota' });
    const refused = await compute.setCapacity(VMSS, 99).catch((err: unknown) => err);
    assert.ok(refused instanceof ComputeError && !refused.transient, String(refused));
    const unreachable = new ArmScaleSets({
      endpoint: 'http://127.0.0.1:1',
      subscriptionId: SUB,
      resourceGroup: RG,
      credential: localStaticCredential(),
    });
    const err = await unreachable.get(VMSS).catch((e: unknown) => e);
    assert.ok(err instanceof ComputeError, String(err));
    assert.equal(err.transient, true, `${err.code}: ${err.message}`);
  });

  test('delete the scale set; deleting it again and reading it are not errors', async () => {
    await compute.delete(VMSS);
    assertMatches(
      recorder.requests.findLast((r) => r.method === 'DELETE'),
      await expectation('delete-scale-set.json'),
    );
    assert.equal(await compute.get(VMSS), undefined);
    await compute.delete(VMSS);
  });
});
