// The compute emulator as a service of the local stack: started by the supervisor after Azurite, described in
// stack.json, its VMs given Azurite's connection string, its events accepted by the stack's Event Grid, and no VM
// left when the stack stops.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localStackAppSettings } from '../../../shared/config/settings.js';
import { startTestStack, withServiceOutput } from '../../support/stack.js';
import {
  adminVms,
  bootsOf,
  computeClient,
  FAST,
  processesMentioning,
  RG,
  scaleSetBody,
  WORKLOAD,
  waitFor,
} from './harness.js';

test('the stack runs the compute emulator (boot delay, quota) and stops its VMs with it', async () => {
  const stack = await startTestStack({
    services: ['azurite', 'compute', 'eventgrid'],
    agentScript: WORKLOAD,
    coreQuota: 8,
    bootDelayMs: 3000,
  });
  try {
    await withServiceOutput(stack, async () => {
      const d = stack.descriptor;
      assert.equal(d.compute?.endpoint, `http://127.0.0.1:${d.services.compute?.port}/`);
      assert.equal(localStackAppSettings({ ...d, secretsKey: 'k' }).ARM_ENDPOINT, d.compute?.endpoint);
      const endpoint = d.compute!.endpoint.replace(/\/$/, '');
      const client = computeClient(endpoint);
      await client.virtualMachineScaleSets
        .createOrUpdate(RG, 'st', scaleSetBody({ name: 'st', capacity: 2 }), FAST)
        .pollUntilDone();
      const vms = await adminVms(endpoint, 'st');
      assert.equal(vms.length, 2);
      for (const vm of vms) {
        const boot = await waitFor(`${vm.name} booted`, () => bootsOf(vm.disk)[0]);
        assert.equal((boot as { storage?: boolean }).storage, true, 'the VM got a storage connection string');
        assert.ok(vm.disk.startsWith(`${stack.dataDir}/compute/disks/`));
      }
      // The stack gave the emulator Event Grid's topic and key: its events are accepted there.
      await waitFor('the write event accepted by Event Grid', async () => {
        const { value } = (await (await fetch(`${endpoint}/admin/events`)).json()) as {
          value: { publishedAt: string | null; event: { eventType: string } }[];
        };
        return value.some((e) => e.event.eventType === 'Microsoft.Resources.ResourceWriteSuccess' && e.publishedAt);
      });
      await assert.rejects(
        client.virtualMachineScaleSets.update(RG, 'st', { sku: { capacity: 5 } }, FAST).pollUntilDone(),
        (err: { code?: string }) => err.code === 'OperationNotAllowed',
        '--core-quota reaches the emulator',
      );
    });
  } finally {
    await stack.stop();
  }
  assert.deepEqual(processesMentioning(stack.dataDir), [], 'no process of the stack is left');
  await stack.dispose();
});
