import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BatchAiApi } from '../../support/api-client.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { clusterBody, computeClient, emulatorVms, getCluster, isAlive, remoteLogins, waitForNodes } from './harness.js';

// A cluster through the public API on a full local stack: its nodes are real agent processes behind the compute
// emulator's scale set. Provision, lose a node to a Spot eviction (through the real SDK), resize, delete.

let stack: TestStack;
let api: BatchAiApi;

before(async () => {
  stack = await startTestStack();
  api = new BatchAiApi(stack.descriptor);
});
after(() => stack?.dispose());

const t = (name: string, body: () => Promise<void>) =>
  test(name, { timeout: 240_000 }, () => withServiceOutput(stack, body));

t(
  'a 3-node cluster: 3 idle agent processes; an evicted node is replaced; resize to 1; delete leaves nothing',
  async () => {
    const ws = api.workspacePath('ws');
    assert.equal((await api.call('PUT', ws, { body: { location: 'local' } })).status, 200);
    const path = `${ws}/clusters/c3`;
    const created = await api.call('PUT', path, { body: clusterBody({ manual: { targetNodeCount: 3 } }) });
    assert.equal(created.status, 202, created.text);

    // The PUT's operation completes once the cluster is first steady.
    const done = await api.waitForOperation(created.headers.get('location')!, 120_000);
    assert.equal(done.status, 200, done.text);
    const ready = await waitForNodes(api, path, { idleNodeCount: 3, current: 3, steady: true }, 120_000);
    assert.equal(ready.properties.provisioningState, 'succeeded');

    // Each node is a live agent process, and the API's nodes are the scale set's VMs.
    const logins = await remoteLogins(api, path);
    assert.equal(logins.length, 3);
    const vms = await emulatorVms(stack);
    for (const login of logins) {
      const vm = vms.find((v) => v.name === login.nodeId);
      assert.ok(vm, `${login.nodeId} is a VM of the emulator`);
      assert.ok(isAlive(vm.pid), `${login.nodeId} runs an agent process`);
      assert.equal(login.ipAddress, '127.0.0.1');
      assert.ok(login.port > 0);
    }

    // Usages count the cores the cluster's nodes hold (3 × STANDARD_D1_V2, low priority: 1 vCPU each).
    const usages = await api.call<{ value: Array<{ name: { value: string }; currentValue: number }> }>(
      'GET',
      `/subscriptions/${api.sub}/providers/Microsoft.BatchAI/locations/local/usages`,
    );
    const lowPriority = usages.body.value.find((u) => u.name.value === 'Total Cluster LowPriority Regional vCPUs');
    assert.equal(lowPriority?.currentValue, 3, usages.text);

    // A Spot eviction through the real SDK: the node is lost, then replaced by a new one, back to 3 idle.
    const evicted = logins[1]!;
    const [scaleSetName, instanceId] = evicted.nodeId.split('_') as [string, string];
    const compute = computeClient(stack);
    const seen = new Set<string>();
    await compute.virtualMachineScaleSetVMs.simulateEviction(stack.descriptor.resourceGroup, scaleSetName, instanceId);
    await waitFor(
      'the evicted node to be replaced by a new idle one',
      async () => {
        const view = await getCluster(api, path);
        const c = view.properties.nodeStateCounts;
        if (c.unusableNodeCount > 0) seen.add('unusable');
        if (c.leavingNodeCount > 0) seen.add('leaving');
        if (view.properties.allocationState === 'resizing') seen.add('resizing');
        const now = await remoteLogins(api, path);
        return (
          c.idleNodeCount === 3 &&
          view.properties.currentNodeCount === 3 &&
          now.length === 3 &&
          !now.some((l) => l.nodeId === evicted.nodeId) &&
          now
        );
      },
      120_000,
      50,
    );
    const vmsAfter = await emulatorVms(stack);
    assert.ok(!vmsAfter.some((v) => v.name === evicted.nodeId), 'the evicted VM is gone from the scale set');
    console.log(`eviction: states observed in between: ${[...seen].join(', ') || '(none: replaced between polls)'}`);

    // The agent process dies behind the emulator's back (a crashed VM): the node is lost and replaced too.
    const crashed = (await remoteLogins(api, path))[0]!;
    const [, crashedId] = crashed.nodeId.split('_') as [string, string];
    const fault = await fetch(
      `${stack.descriptor.compute!.endpoint.replace(/\/+$/, '')}/admin/vms/${scaleSetName}/${crashedId}/faults`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'killAgent' }) },
    );
    assert.ok(fault.ok, `fault injection: ${fault.status} ${await fault.text()}`);
    await waitFor(
      'the crashed node to be replaced by a new idle one',
      async () => {
        const view = await getCluster(api, path);
        const now = await remoteLogins(api, path);
        return (
          view.properties.nodeStateCounts.idleNodeCount === 3 &&
          now.length === 3 &&
          !now.some((l) => l.nodeId === crashed.nodeId) &&
          now
        );
      },
      120_000,
      50,
    );

    // Resize to 1: two nodes leave, one stays.
    const patched = await api.call('PATCH', path, {
      body: { properties: { scaleSettings: { manual: { targetNodeCount: 1 } } } },
    });
    assert.equal(patched.status, 200, patched.text);
    await waitForNodes(api, path, { idleNodeCount: 1, current: 1, steady: true }, 120_000);
    await waitFor(
      'the scale set to hold one VM',
      async () => (await emulatorVms(stack)).filter((v) => v.scaleSet === scaleSetName).length === 1,
      60_000,
      100,
    );

    // Delete: no VM, no agent process and no scale set is left, then the cluster is gone.
    const pids = (await emulatorVms(stack)).filter((v) => v.scaleSet === scaleSetName).map((v) => v.pid);
    const removed = await api.call('DELETE', path);
    assert.equal(removed.status, 202, removed.text);
    const deleted = await api.waitForOperation(removed.headers.get('location')!, 120_000);
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal((await api.call('GET', path)).status, 404);
    assert.deepEqual(
      (await emulatorVms(stack)).filter((v) => v.scaleSet === scaleSetName),
      [],
    );
    await assert.rejects(
      compute.virtualMachineScaleSets.get(stack.descriptor.resourceGroup, scaleSetName),
      (err: { statusCode?: number }) => err.statusCode === 404,
    );
    await waitFor('every agent process of the cluster to exit', () => pids.every((p) => !isAlive(p)), 30_000, 100);
  },
);
