// The compute emulator's pure parts: paging, quota, VM sizes, scale-set bodies and views, the VM environment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { armErrors } from '../../../local/compute/arm-errors.js';
import { localVmEnvironment } from '../../../local/compute/cloud-init.js';
import { instanceSortKey, nextLinkFor, pageOf } from '../../../local/compute/paging.js';
import { checkCoreQuota, coresInUse } from '../../../local/compute/quota.js';
import {
  evictionPolicyOf,
  instanceView,
  mergePatch,
  priorityOf,
  readScaleSetBody,
  scaleSetView,
  withoutSecrets,
} from '../../../local/compute/scale-set-model.js';
import type { InstanceRecord, ScaleSetRecord } from '../../../local/compute/store.js';
import { LOCAL_VM_ENV } from '../../../shared/domain/agent-bootstrap.js';
import { KNOWN_VM_SIZES, vCpusOf, vmSizeOf } from '../../../shared/domain/vm-sizes.js';

test('paging visits every item exactly once, in order, whatever the page size', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.nat(5000)), fc.integer({ min: 1, max: 7 }), (ids, size) => {
      const sorted = [...ids].sort((a, b) => a - b);
      const seen: number[] = [];
      let token: string | null = null;
      for (let guard = 0; guard < 10_000; guard++) {
        const page: { items: number[]; next: string | undefined } = pageOf(sorted, instanceSortKey, token, size);
        assert.ok(page.items.length <= size);
        seen.push(...page.items);
        if (!page.next) break;
        token = page.next;
      }
      assert.deepEqual(seen, sorted);
    }),
  );
});

test('a page boundary survives removals between pages', () => {
  const first = pageOf([0, 1, 2, 3, 4], instanceSortKey, null, 2);
  assert.deepEqual(first.items, [0, 1]);
  // 1 and 2 are deleted before the next page is read: 3 and 4 are still found, nothing repeats.
  const second = pageOf([0, 3, 4], instanceSortKey, first.next ?? null, 2);
  assert.deepEqual(second.items, [3, 4]);
  assert.equal(second.next, undefined);
  const link = nextLinkFor('http://h:1', '/p', new URLSearchParams('api-version=2024-07-01&$expand=instanceView'), 'k');
  assert.equal(link, 'http://h:1/p?api-version=2024-07-01&%24expand=instanceView&%24skiptoken=k');
});

test('quota: allocated VMs count their vCPUs; an allocation beyond the limit is refused with the numbers', () => {
  const usage = coresInUse([
    { vmSize: 'Standard_NC6', allocated: true },
    { vmSize: 'standard_d2_v2', allocated: true },
    { vmSize: 'Standard_NC24', allocated: false },
  ]);
  assert.equal(usage, 8);
  assert.deepEqual(checkCoreQuota({ limit: 20, usage, vmSize: 'Standard_NC12', newVms: 1 }), { ok: true });
  assert.deepEqual(checkCoreQuota({ limit: 20, usage, vmSize: 'Standard_NC12', newVms: 2 }), {
    ok: false,
    limit: 20,
    usage: 8,
    required: 24,
  });
  assert.deepEqual(checkCoreQuota({ limit: 0, usage: 50, vmSize: 'Standard_NC12', newVms: -3 }), { ok: true });
  const error = armErrors.coreQuotaExceeded({ location: 'local', limit: 20, usage: 8, required: 24 });
  assert.equal(error.code, 'OperationNotAllowed');
  assert.match(
    error.message,
    /^Operation could not be completed as it results in exceeding approved Total Regional Cores quota\. Additional details - Deployment Model: Resource Manager, Location: local, Current Limit: 20, Current Usage: 8, Additional Required: 24, \(Minimum\) New Limit Required: 32\./,
  );
});

test('VM sizes: Batch AI sizes with cores, memory and GPUs; any case; unknown sizes are unknown', () => {
  for (const name of [
    'STANDARD_D1_V2',
    'Standard_D15_v2',
    'standard_nc6',
    'Standard_NC12',
    'Standard_NC24',
    'Standard_NV6',
    'Standard_ND6s',
  ]) {
    assert.ok(vmSizeOf(name), name);
  }
  assert.deepEqual(vmSizeOf('standard_nc24'), { name: 'Standard_NC24', vCpus: 24, memoryGiB: 224, gpus: 4 });
  assert.deepEqual(vmSizeOf('Standard_D15_v2'), { name: 'Standard_D15_v2', vCpus: 20, memoryGiB: 140, gpus: 0 });
  assert.equal(vmSizeOf('Standard_ND6s')?.gpus, 1);
  assert.equal(vmSizeOf('Standard_Q99'), undefined);
  assert.equal(vCpusOf('Standard_Q99'), 1);
  assert.equal(new Set(KNOWN_VM_SIZES.map((s) => s.toLowerCase())).size, KNOWN_VM_SIZES.length, 'no duplicates');
});

test('scale-set bodies: shape errors name the field; PATCH merges; passwords are not kept', () => {
  assert.equal(readScaleSetBody([]).ok, false);
  const badCapacity = readScaleSetBody({ sku: { name: 'Standard_D1_v2', capacity: -1 } });
  assert.ok(!badCapacity.ok && badCapacity.error.target === 'sku.capacity');
  const badPriority = readScaleSetBody({ properties: { virtualMachineProfile: { priority: 'Cheap' } } });
  assert.ok(!badPriority.ok && badPriority.error.target === 'priority');
  const ok = readScaleSetBody({
    location: 'local',
    id: 'ignored',
    sku: { name: 'Standard_D1_v2', capacity: 2 },
    tags: { a: '1' },
    properties: { virtualMachineProfile: { priority: 'Spot', evictionPolicy: 'Delete' } },
  });
  assert.ok(ok.ok);
  assert.deepEqual(ok.value.sku, { name: 'Standard_D1_v2', capacity: 2 });
  assert.equal(ok.value.model.id, undefined);
  assert.deepEqual(
    mergePatch(
      { tags: { a: '1' }, properties: { x: 1, y: { z: 2 } } },
      { tags: { b: '2' }, properties: { y: { w: 3 } } },
    ),
    { tags: { a: '1', b: '2' }, properties: { x: 1, y: { z: 2, w: 3 } } },
  );
  const stored = withoutSecrets({
    properties: { virtualMachineProfile: { osProfile: { adminUsername: 'u', adminPassword: 'p', customData: 'c' } } },
  });
  assert.deepEqual(stored, {
    properties: { virtualMachineProfile: { osProfile: { adminUsername: 'u', customData: 'c' } } },
  });
  const withExtension = withoutSecrets({
    properties: {
      virtualMachineProfile: {
        extensionProfile: {
          extensions: [{ name: 'cs', properties: { settings: { a: 1 }, protectedSettings: { key: 'k' } } }],
        },
      },
    },
  });
  assert.equal(JSON.stringify(withExtension).includes('protectedSettings'), false);
  assert.ok(JSON.stringify(withExtension).includes('"settings":{"a":1}'));
});

const ss: ScaleSetRecord = {
  key: 's/rg/pool',
  subscriptionId: 's',
  resourceGroup: 'rg',
  name: 'pool',
  location: 'local',
  sku: { name: 'Standard_NC6', tier: 'Standard', capacity: 1 },
  model: {
    tags: { t: 'v' },
    properties: {
      virtualMachineProfile: {
        priority: 'Spot',
        osProfile: { computerNamePrefix: 'node', adminUsername: 'u', customData: 'secret-ish' },
      },
    },
  },
  provisioningState: 'Succeeded',
  uniqueId: 'u-1',
  timeCreated: '2026-11-28T00:00:00.000Z',
  nextInstanceId: 40,
  modelVersion: 2,
};
const inst: InstanceRecord = {
  scaleSetKey: ss.key,
  instanceId: 37,
  name: 'pool_37',
  vmId: 'vm-37',
  vmSize: 'Standard_NC6',
  modelVersion: 1,
  provisioningState: 'Failed',
  powerState: 'stopped',
  availability: 'Unknown',
  port: 30000,
  timeCreated: '2026-11-28T00:00:00.000Z',
  error: { code: 'OSProvisioningClientError', message: 'bad' },
};

test('views: customData is write-only; VM names, computer names, statuses and latestModelApplied', () => {
  const view = scaleSetView(ss) as {
    id: string;
    properties: { virtualMachineProfile: { osProfile: Record<string, unknown> } };
    tags: unknown;
  };
  assert.equal(view.id, '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool');
  assert.deepEqual(view.properties.virtualMachineProfile.osProfile, { computerNamePrefix: 'node', adminUsername: 'u' });
  assert.deepEqual(view.tags, { t: 'v' });
  const vm = instanceView(ss, inst, true) as {
    instanceId: string;
    name: string;
    properties: {
      latestModelApplied: boolean;
      osProfile: { computerName: string };
      instanceView: { statuses: { code: string }[] };
    };
  };
  assert.equal(vm.instanceId, '37');
  assert.equal(vm.name, 'pool_37');
  assert.equal(vm.properties.latestModelApplied, false);
  assert.equal(vm.properties.osProfile.computerName, 'node000011', 'prefix + base-36 id');
  assert.deepEqual(
    vm.properties.instanceView.statuses.map((s) => s.code),
    ['ProvisioningState/failed/OSProvisioningClientError', 'PowerState/stopped'],
  );
  assert.equal(
    (instanceView(ss, inst, false) as { properties: { instanceView?: unknown } }).properties.instanceView,
    undefined,
  );
  assert.equal(priorityOf(ss), 'Spot');
  assert.equal(evictionPolicyOf(ss), 'Deallocate', "Azure's default eviction policy");
});

test('the VM environment names every LOCAL_VM_ENV variable', () => {
  const env = localVmEnvironment({
    resourceId: '/x/virtualMachines/3',
    vmId: 'v',
    name: 'pool_3',
    instanceId: 3,
    vmSize: 'Standard_D1_v2',
    priority: 'Spot',
    diskDir: '/d',
    port: 1234,
    networkRoot: '/n',
    storageConnectionString: 'c',
  });
  assert.deepEqual(Object.keys(env).sort(), Object.values(LOCAL_VM_ENV).sort());
  assert.equal(env[LOCAL_VM_ENV.ipAddress], '127.0.0.1');
  assert.equal(env[LOCAL_VM_ENV.port], '1234');
  assert.equal(env[LOCAL_VM_ENV.instanceId], '3');
});
