// The compute emulator driven by the real @azure/arm-compute client: scale sets, VMs as processes with disks,
// LROs, paging, quota and provisioning errors, and the Event Grid events each call and fault produces, received
// through a real Event Grid emulator delivering to a webhook.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { AGENT_CONFIG_PATH, parseAgentBootstrap } from '../../../shared/domain/agent-bootstrap.js';
import { UNREACHABLE_STORAGE } from '../../support/stack.js';
import {
  type EmulatorProcess,
  removeTempDirs,
  startEmulator,
  TOPIC_KEY,
  tempDir,
  WebhookReceiver,
  writeConfig,
} from '../eventgrid/harness.js';
import {
  adminVms,
  bootsOf,
  type ComputeProcess,
  computeClient,
  customDataFor,
  type DeliveredEvent,
  delivered,
  FAST,
  fault,
  processesMentioning,
  processState,
  RG,
  SUB,
  scaleSetBody,
  startCompute,
  waitFor,
} from './harness.js';

let receiver: WebhookReceiver;
let eventGrid: EmulatorProcess;
let compute: ComputeProcess;
let client: ComputeManagementClient;

before(async () => {
  receiver = new WebhookReceiver();
  await receiver.start();
  const egDir = await tempDir('compute-eg');
  const configPath = await writeConfig(egDir, {
    subscriptionId: SUB,
    resourceGroup: RG,
    retryTimeScale: 0.01,
    subscriptions: [{ name: 'vm-events', source: { type: 'topic' }, endpoint: receiver.url('vm-events') }],
  });
  eventGrid = await startEmulator({ dataDir: egDir, configPath, connectionString: UNREACHABLE_STORAGE });
  // Event Grid holds deliveries until the endpoint has passed the validation handshake.
  await waitFor('validation handshake', () => (receiver.requests.length >= 1 ? true : undefined));
  compute = await startCompute({
    dataDir: await tempDir('compute'),
    pageSize: 2,
    coreQuota: 40,
    eventGrid: { endpoint: eventGrid.topicEndpoint, key: TOPIC_KEY },
  });
  client = computeClient(compute.endpoint);
});

after(async () => {
  await compute?.stop();
  await eventGrid?.stop();
  await receiver?.stop();
  if (compute) assert.deepEqual(processesMentioning(compute.dataDir), [], 'no VM process outlives the emulator');
  await removeTempDirs();
});

const events = (): DeliveredEvent[] => delivered(receiver.notifications('vm-events').map((r) => r.body));
const eventsFor = (subject: string, type: string) =>
  events().filter((e) => e.subject.toLowerCase() === subject.toLowerCase() && e.eventType === type);
const vmId = (vmss: string, id: string) =>
  `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmss}/virtualMachines/${id}`;
const vmssId = (vmss: string) =>
  `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmss}`;
const annotation = (e: DeliveredEvent) => e.data.resourceInfo?.properties.annotationName;
const availability = (e: DeliveredEvent) => e.data.resourceInfo?.properties.availabilityState;

async function instancesOf(vmss: string) {
  const all = [];
  for await (const vm of client.virtualMachineScaleSetVMs.list(RG, vmss, { expand: 'instanceView' })) all.push(vm);
  return all;
}

test('create: every VM is an agent process with its own disk, cloud-init config and identity', async () => {
  const created = await client.virtualMachineScaleSets
    .createOrUpdate(RG, 'pool', scaleSetBody({ name: 'pool', capacity: 3 }), FAST)
    .pollUntilDone();
  assert.equal(created.provisioningState, 'Succeeded');
  assert.equal(created.sku?.capacity, 3);
  const got = await client.virtualMachineScaleSets.get(RG, 'pool');
  assert.equal(got.id, vmssId('pool'));
  const profile = got.virtualMachineProfile?.osProfile;
  assert.equal(profile?.customData, undefined, 'customData is write-only');
  assert.equal(profile?.adminPassword, undefined, 'passwords are never returned');
  assert.equal(profile?.adminUsername, 'batchai');

  const vms = await instancesOf('pool');
  assert.deepEqual(
    vms.map((v) => v.instanceId),
    ['0', '1', '2'],
  );
  assert.deepEqual(
    vms.map((v) => v.name),
    ['pool_0', 'pool_1', 'pool_2'],
  );
  assert.equal(new Set(vms.map((v) => v.vmId)).size, 3, 'a vmId per VM');
  for (const vm of vms) {
    assert.match(vm.vmId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(vm.provisioningState, 'Succeeded');
    assert.deepEqual(
      vm.instanceView?.statuses?.map((s: { code?: string }) => s.code),
      ['ProvisioningState/succeeded', 'PowerState/running'],
    );
  }
  const view = await client.virtualMachineScaleSetVMs.getInstanceView(RG, 'pool', '2');
  assert.deepEqual(
    view.statuses?.map((s: { code?: string }) => s.code),
    ['ProvisioningState/succeeded', 'PowerState/running'],
  );
  assert.equal(view.computerName, 'pool000002');
  const admin = await adminVms(compute.endpoint, 'pool');
  assert.equal(admin.length, 3);
  const expectedConfig = parseAgentBootstrap(customDataFor('pool'));
  assert.ok(expectedConfig.ok);
  for (const vm of admin) {
    assert.ok(vm.pid && processState(vm.pid), `${vm.name} has a live process`);
    const boots = await waitFor(`${vm.name} boot record`, () => bootsOf(vm.disk)[0]);
    assert.equal(boots.vmId, vms.find((v) => v.instanceId === vm.instanceId)?.vmId);
    assert.equal(boots.pid, vm.pid);
    assert.equal(boots.scaleSetName, 'pool', 'the agent read the config cloud-init wrote');
    assert.deepEqual(JSON.parse(readFileSync(join(vm.disk, AGENT_CONFIG_PATH), 'utf8')), expectedConfig.value);
    assert.ok(vm.port > 0);
  }
  assert.equal(new Set(admin.map((v) => v.port)).size, 3, 'a port per VM');

  const write = await waitFor(
    'ResourceWriteSuccess',
    () => eventsFor(vmssId('pool'), 'Microsoft.Resources.ResourceWriteSuccess')[0],
  );
  assert.equal(write.topic, `/subscriptions/${SUB}/resourceGroups/${RG}`);
  assert.equal(write.data.operationName, 'Microsoft.Compute/virtualMachineScaleSets/write');
  assert.equal(write.data.status, 'Succeeded');
  assert.equal(write.dataVersion, '2');
  for (const id of ['0', '1', '2']) {
    const up = await waitFor(
      `pool_${id} available`,
      () => eventsFor(vmId('pool', id), 'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged')[0],
    );
    assert.equal(up.topic, `/subscriptions/${SUB}`);
    assert.equal(availability(up), 'Available');
    assert.equal(
      up.data.resourceInfo?.properties.targetResourceType,
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
    );
  }
});

test('lists page with nextLink (by resource group, by subscription, VMs)', async () => {
  for (const name of ['aux-a', 'aux-b']) {
    await client.virtualMachineScaleSets
      .createOrUpdate(RG, name, scaleSetBody({ name, capacity: 0 }), FAST)
      .pollUntilDone();
  }
  const raw = await fetch(
    `${compute.endpoint}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets?api-version=2024-07-01`,
    { headers: { authorization: 'Bearer x' } },
  );
  const firstPage = (await raw.json()) as { value: unknown[]; nextLink?: string };
  assert.equal(firstPage.value.length, 2);
  assert.ok(firstPage.nextLink?.includes('api-version=2024-07-01'), 'nextLink keeps the api-version');
  const names: string[] = [];
  for await (const s of client.virtualMachineScaleSets.list(RG)) names.push(s.name ?? '');
  assert.deepEqual(names.sort(), ['aux-a', 'aux-b', 'pool']);
  const all: string[] = [];
  for await (const s of client.virtualMachineScaleSets.listAll()) all.push(s.name ?? '');
  assert.deepEqual(all.sort(), ['aux-a', 'aux-b', 'pool']);
  assert.equal((await instancesOf('pool')).length, 3, 'three VMs over two pages of two');
  for (const name of ['aux-a', 'aux-b']) await client.virtualMachineScaleSets.delete(RG, name, FAST).pollUntilDone();
});

test('PATCH capacity scales out with new ids and scales in from the highest ids', async () => {
  const out = await client.virtualMachineScaleSets.update(RG, 'pool', { sku: { capacity: 5 } }, FAST).pollUntilDone();
  assert.equal(out.sku?.capacity, 5);
  assert.ok(
    (await instancesOf('pool')).every((v) => v.latestModelApplied),
    'scaling does not change the model of the VMs already there',
  );
  assert.deepEqual(
    (await instancesOf('pool')).map((v) => v.instanceId),
    ['0', '1', '2', '3', '4'],
  );
  const before = await adminVms(compute.endpoint, 'pool');
  const removed = before.filter((v) => ['2', '3', '4'].includes(v.instanceId));
  await client.virtualMachineScaleSets.update(RG, 'pool', { sku: { capacity: 2 } }, FAST).pollUntilDone();
  assert.deepEqual(
    (await instancesOf('pool')).map((v) => v.instanceId),
    ['0', '1'],
  );
  for (const vm of removed) {
    assert.equal(processState(vm.pid!), undefined, `${vm.name}'s process is gone`);
    assert.equal(existsSync(vm.disk), false, `${vm.name}'s disk is gone`);
  }
});

test('restart keeps the disk; reimage wipes it and keeps the vmId', async () => {
  const [vm0] = await adminVms(compute.endpoint, 'pool');
  assert.ok(vm0?.pid);
  await client.virtualMachineScaleSetVMs.restart(RG, 'pool', '0', FAST).pollUntilDone();
  const [restarted] = await adminVms(compute.endpoint, 'pool');
  assert.ok(restarted?.pid && restarted.pid !== vm0.pid, 'a new process');
  assert.equal(processState(vm0.pid), undefined, 'the old process is gone');
  const boots = await waitFor('second boot recorded', () =>
    bootsOf(vm0.disk).length === 2 ? bootsOf(vm0.disk) : undefined,
  );
  assert.deepEqual(
    boots.map((b) => b.pid),
    [vm0.pid, restarted.pid],
    'same disk across the restart',
  );
  const restartEvent = await waitFor('restart action event', () =>
    eventsFor(vmId('pool', '0'), 'Microsoft.Resources.ResourceActionSuccess').find(
      (e) => e.data.operationName === 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action',
    ),
  );
  assert.equal(restartEvent.data.status, 'Succeeded');
  await waitFor('VirtualMachineRestarted annotation', () =>
    eventsFor(vmId('pool', '0'), 'Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated').find(
      (e) => annotation(e) === 'VirtualMachineRestarted',
    ),
  );

  const vmIdBefore = (await client.virtualMachineScaleSetVMs.get(RG, 'pool', '0')).vmId;
  await client.virtualMachineScaleSetVMs.reimage(RG, 'pool', '0', FAST).pollUntilDone();
  const [reimaged] = await adminVms(compute.endpoint, 'pool');
  const after = await waitFor('boot after reimage', () => bootsOf(vm0.disk)[0]);
  assert.equal(bootsOf(vm0.disk).length, 1, 'the disk was wiped: only the new boot is on it');
  assert.equal(after.pid, reimaged?.pid);
  assert.equal((await client.virtualMachineScaleSetVMs.get(RG, 'pool', '0')).vmId, vmIdBefore);
  assert.ok(existsSync(join(vm0.disk, AGENT_CONFIG_PATH)), 'cloud-init ran again');
});

test('delete instances lowers the capacity; instance ids are never reused', async () => {
  const [, vm1] = await adminVms(compute.endpoint, 'pool');
  assert.equal(vm1?.instanceId, '1');
  await client.virtualMachineScaleSets.deleteInstances(RG, 'pool', { instanceIds: ['1'] }, FAST).pollUntilDone();
  assert.equal(processState(vm1.pid!), undefined);
  assert.equal(existsSync(vm1.disk), false);
  assert.equal((await client.virtualMachineScaleSets.get(RG, 'pool')).sku?.capacity, 1);
  await waitFor('delete action event', () =>
    eventsFor(vmssId('pool'), 'Microsoft.Resources.ResourceActionSuccess').find(
      (e) => e.data.operationName === 'Microsoft.Compute/virtualMachineScaleSets/delete/action',
    ),
  );
  await client.virtualMachineScaleSets.update(RG, 'pool', { sku: { capacity: 2 } }, FAST).pollUntilDone();
  assert.deepEqual(
    (await instancesOf('pool')).map((v) => v.instanceId),
    ['0', '5'],
  );
  await client.virtualMachineScaleSetVMs.delete(RG, 'pool', '5', FAST).pollUntilDone();
  await waitFor('VM delete event', () => eventsFor(vmId('pool', '5'), 'Microsoft.Resources.ResourceDeleteSuccess')[0]);
  assert.deepEqual(
    (await instancesOf('pool')).map((v) => v.instanceId),
    ['0'],
  );
  await assert.rejects(
    client.virtualMachineScaleSetVMs.get(RG, 'pool', '5'),
    (err: { statusCode?: number; code?: string }) => {
      assert.equal(err.statusCode, 404);
      assert.equal(err.code, 'NotFound');
      return true;
    },
  );
});

test('a core quota overrun fails as ARM does (409 OperationNotAllowed) and creates nothing', async () => {
  // 2 cores in use; 2 × NC24 = 48 more > 40.
  await assert.rejects(
    client.virtualMachineScaleSets
      .createOrUpdate(RG, 'gpus', scaleSetBody({ name: 'gpus', vmSize: 'Standard_NC24', capacity: 2 }), FAST)
      .pollUntilDone(),
    (err: { statusCode?: number; code?: string; message: string }) => {
      assert.equal(err.statusCode, 409);
      assert.equal(err.code, 'OperationNotAllowed');
      assert.match(err.message, /exceeding approved Total Regional Cores quota/);
      assert.match(err.message, /Current Limit: 40, Current Usage: 2, Additional Required: 48/);
      return true;
    },
  );
  await assert.rejects(
    client.virtualMachineScaleSets.get(RG, 'gpus'),
    (err: { statusCode?: number; code?: string }) => {
      assert.equal(err.statusCode, 404);
      assert.equal(err.code, 'ResourceNotFound');
      return true;
    },
  );
  await assert.rejects(
    client.virtualMachineScaleSets.update(RG, 'pool', { sku: { capacity: 25 } }, FAST).pollUntilDone(),
    (err: { code?: string }) => err.code === 'OperationNotAllowed',
  );
  await waitFor('ResourceWriteFailure', () => eventsFor(vmssId('gpus'), 'Microsoft.Resources.ResourceWriteFailure')[0]);
});

test('an unknown VM size is an InvalidParameter; bad customData fails provisioning with the reason', async () => {
  await assert.rejects(
    client.virtualMachineScaleSets
      .createOrUpdate(RG, 'odd', scaleSetBody({ name: 'odd', vmSize: 'Standard_Q99', capacity: 1 }), FAST)
      .pollUntilDone(),
    (err: { statusCode?: number; code?: string; message: string }) => {
      assert.equal(err.statusCode, 400);
      assert.equal(err.code, 'InvalidParameter');
      assert.match(err.message, /Standard_Q99 provided for the VM size is not valid/);
      return true;
    },
  );
  const garbage = Buffer.from('#!/bin/sh\necho hello\n').toString('base64');
  await assert.rejects(
    client.virtualMachineScaleSets
      .createOrUpdate(RG, 'broken', scaleSetBody({ name: 'broken', capacity: 1, customData: garbage }), FAST)
      .pollUntilDone(),
    (err: { code?: string; message: string }) => {
      assert.match(err.message, /cloud-init could not process customData: customData is not a cloud-config document/);
      return true;
    },
  );
  const broken = await client.virtualMachineScaleSets.get(RG, 'broken');
  assert.equal(broken.provisioningState, 'Failed');
  const [vm] = await instancesOf('broken');
  assert.equal(vm?.provisioningState, 'Failed');
  assert.equal(vm?.instanceView?.statuses?.[0]?.code, 'ProvisioningState/failed/OSProvisioningClientError');
  assert.equal((await adminVms(compute.endpoint, 'broken'))[0]?.pid, null, 'no process for a VM that never booted');
  await client.virtualMachineScaleSets.delete(RG, 'broken', FAST).pollUntilDone();
});

test('ARM gate: a bearer token and a known api-version are required', async () => {
  const url = `${compute.endpoint}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/pool`;
  const noAuth = await fetch(`${url}?api-version=2024-07-01`);
  assert.equal(noAuth.status, 401);
  assert.equal(((await noAuth.json()) as { error: { code: string } }).error.code, 'AuthenticationFailed');
  const noVersion = await fetch(url, { headers: { authorization: 'Bearer t' } });
  assert.equal(noVersion.status, 400);
  assert.equal(((await noVersion.json()) as { error: { code: string } }).error.code, 'MissingApiVersionParameter');
  const oldVersion = await fetch(`${url}?api-version=2015-06-15`, { headers: { authorization: 'Bearer t' } });
  assert.equal(oldVersion.status, 400);
  assert.equal(((await oldVersion.json()) as { error: { code: string } }).error.code, 'NoRegisteredProviderFound');
  const notBearer = await fetch(`${url}?api-version=2024-07-01`, { headers: { authorization: 'Basic dTpw' } });
  assert.equal(notBearer.status, 401);
  const wrongMethod = await fetch(`${url}/virtualMachines?api-version=2024-07-01`, {
    method: 'POST',
    headers: { authorization: 'Bearer t' },
  });
  assert.equal(wrongMethod.status, 405);
  const ok = await fetch(`${url}?api-version=2024-07-01`, { headers: { authorization: 'Bearer t' } });
  assert.equal(ok.status, 200);
  const sdkVersion = await fetch(`${url}?api-version=2026-03-01`, { headers: { authorization: 'Bearer whatever' } });
  assert.equal(sdkVersion.status, 200);
});

test('simulateEviction: Preempt scheduled event, then the evictionPolicy (Delete removes, Deallocate keeps)', async () => {
  await client.virtualMachineScaleSets
    .createOrUpdate(RG, 'spot-del', scaleSetBody({ name: 'spot-del', capacity: 2, spot: 'Delete' }), FAST)
    .pollUntilDone();
  await client.virtualMachineScaleSets
    .createOrUpdate(RG, 'spot-dea', scaleSetBody({ name: 'spot-dea', capacity: 1, spot: 'Deallocate' }), FAST)
    .pollUntilDone();
  const [victim] = await adminVms(compute.endpoint, 'spot-del');
  assert.ok(victim?.pid);
  await client.virtualMachineScaleSetVMs.simulateEviction(RG, 'spot-del', '0');
  await waitFor('evicted VM removed', async () => ((await instancesOf('spot-del')).length === 1 ? true : undefined));
  assert.equal(processState(victim.pid), undefined);
  assert.equal(existsSync(victim.disk), false);
  assert.equal((await client.virtualMachineScaleSets.get(RG, 'spot-del')).sku?.capacity, 1);
  const scheduled = await waitFor(
    'Preempt scheduled event',
    () =>
      eventsFor(vmssId('spot-del'), 'Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted')[0],
  );
  const se = scheduled.data.resourceInfo?.properties ?? {};
  assert.equal(se.EventType, 'Preempt');
  assert.deepEqual(se.Resources, ['spot-del_0']);
  assert.equal(scheduled.dataVersion, '3.0');
  const preempted = await waitFor('VirtualMachinePreempted', () =>
    eventsFor(vmId('spot-del', '0'), 'Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated').find(
      (e) => annotation(e) === 'VirtualMachinePreempted',
    ),
  );
  assert.equal(preempted.data.resourceInfo?.properties.context, 'Platform Initiated');
  assert.ok(new Date(scheduled.eventTime) <= new Date(preempted.eventTime), 'the notice comes first');
  await waitFor('Unavailable', () =>
    eventsFor(vmId('spot-del', '0'), 'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged').find(
      (e) => availability(e) === 'Unavailable',
    ),
  );
  await waitFor('simulateEviction action event', () =>
    eventsFor(vmId('spot-del', '0'), 'Microsoft.Resources.ResourceActionSuccess').find(
      (e) =>
        e.data.operationName === 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/simulateEviction/action',
    ),
  );

  const [beforeEviction] = await adminVms(compute.endpoint, 'spot-dea');
  await waitFor('spot-dea_0 first boot', () => bootsOf(beforeEviction!.disk)[0]);
  await client.virtualMachineScaleSetVMs.simulateEviction(RG, 'spot-dea', '0');
  const deallocated = await waitFor('deallocated', async () => {
    const [vm] = await instancesOf('spot-dea');
    return vm?.instanceView?.statuses?.some((s: { code?: string }) => s.code === 'PowerState/deallocated')
      ? vm
      : undefined;
  });
  assert.equal(deallocated.instanceId, '0');
  const [deallocatedVm] = await adminVms(compute.endpoint, 'spot-dea');
  assert.equal(deallocatedVm?.pid, null);
  await assert.rejects(
    client.virtualMachineScaleSetVMs.restart(RG, 'spot-dea', '0', FAST).pollUntilDone(),
    (err: { statusCode?: number; code?: string }) => err.statusCode === 409 && err.code === 'OperationNotAllowed',
  );
  // A deallocated VM starts again on its disk.
  await client.virtualMachineScaleSetVMs.start(RG, 'spot-dea', '0', FAST).pollUntilDone();
  const [restarted] = await adminVms(compute.endpoint, 'spot-dea');
  assert.ok(restarted?.pid && processState(restarted.pid));
  assert.equal(restarted.powerState, 'running');
  await waitFor('second boot on the kept disk', () => (bootsOf(restarted.disk).length === 2 ? true : undefined));
  // …and a user deallocation is announced as one.
  await client.virtualMachineScaleSetVMs.deallocate(RG, 'spot-dea', '0', FAST).pollUntilDone();
  assert.equal((await adminVms(compute.endpoint, 'spot-dea'))[0]?.powerState, 'deallocated');
  assert.equal(processState(restarted.pid), undefined);
  await waitFor('VirtualMachineDeallocationInitiated', () =>
    eventsFor(vmId('spot-dea', '0'), 'Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated').find(
      (e) => annotation(e) === 'VirtualMachineDeallocationInitiated',
    ),
  );
  await assert.rejects(
    client.virtualMachineScaleSetVMs.simulateEviction(RG, 'pool', '0'),
    (err: { statusCode?: number }) => err.statusCode === 409,
    'only Spot VMs can be evicted through ARM',
  );
});

test('admin faults: killAgent and hostCrash are crashes, healed by a reboot; freeze and thaw', async () => {
  for (const kind of ['killAgent', 'hostCrash']) {
    const [vm] = await adminVms(compute.endpoint, 'pool');
    assert.ok(vm?.pid);
    const answer = await fault(compute.endpoint, 'pool', '0', kind);
    assert.equal(answer.status, 200);
    assert.equal(processState(vm.pid), undefined, `${kind}: the process died`);
    const crashed = await waitFor(
      `${kind}: VirtualMachineHostCrashed`,
      () =>
        eventsFor(vmId('pool', '0'), 'Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated').filter(
          (e) => annotation(e) === 'VirtualMachineHostCrashed',
        )[kind === 'killAgent' ? 0 : 1],
    );
    assert.equal(crashed.data.resourceInfo?.properties.category, 'Unplanned');
    const healed = await waitFor(`${kind}: rebooted`, async () => {
      const [now] = await adminVms(compute.endpoint, 'pool');
      return now?.pid && now.pid !== vm.pid && now.availability === 'Available' ? now : undefined;
    });
    assert.ok(processState(healed.pid!));
    await waitFor(`${kind}: Available again`, () => {
      const changes = eventsFor(
        vmId('pool', '0'),
        'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged',
      );
      const last = changes.at(-1);
      return last && availability(last) === 'Available' && changes.some((e) => availability(e) === 'Unavailable');
    });
  }

  const [vm] = await adminVms(compute.endpoint, 'pool');
  assert.ok(vm?.pid);
  assert.equal((await fault(compute.endpoint, 'pool', '0', 'makeUnavailable')).status, 200);
  assert.equal(processState(vm.pid), 'T', 'frozen (stopped by SIGSTOP)');
  assert.equal((await adminVms(compute.endpoint, 'pool'))[0]?.availability, 'Unavailable');
  assert.equal((await fault(compute.endpoint, 'pool', '0', 'makeAvailable')).status, 200);
  assert.notEqual(processState(vm.pid), 'T');
  assert.equal((await adminVms(compute.endpoint, 'pool'))[0]?.availability, 'Available');
  assert.equal((await adminVms(compute.endpoint, 'pool'))[0]?.pid, vm.pid, 'the same process, resumed');
  assert.equal((await fault(compute.endpoint, 'pool', '0', 'meltdown')).status, 400);
});

test('delete scale set: no process and no disk left', async () => {
  const vms = await adminVms(compute.endpoint);
  assert.ok(vms.length > 0);
  for (const name of ['pool', 'spot-del', 'spot-dea'])
    await client.virtualMachineScaleSets.delete(RG, name, FAST).pollUntilDone();
  for (const vm of vms) {
    if (vm.pid) assert.equal(processState(vm.pid), undefined, `${vm.name} is gone`);
    assert.equal(existsSync(vm.disk), false);
  }
  assert.deepEqual(processesMentioning(join(compute.dataDir, 'disks')), []);
  await assert.rejects(
    client.virtualMachineScaleSets.get(RG, 'pool'),
    (err: { statusCode?: number }) => err.statusCode === 404,
  );
  await waitFor(
    'ResourceDeleteSuccess',
    () => eventsFor(vmssId('pool'), 'Microsoft.Resources.ResourceDeleteSuccess')[0],
  );
  assert.deepEqual(await adminVms(compute.endpoint), []);
  // Deleting what is not there succeeds (204), as ARM's DELETE is idempotent.
  await client.virtualMachineScaleSets.delete(RG, 'never-was', FAST).pollUntilDone();
});
