// The compute emulator across restarts: records and VMs come back after a graceful stop and after SIGKILL
// (VMs boot again, as after a host restart, on the same disks), no VM outlives a killed emulator, and events
// committed while Event Grid was down are delivered once it is up.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../../../local/stack/ports.js';
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
  delivered,
  FAST,
  processesMentioning,
  processState,
  RG,
  SUB,
  scaleSetBody,
  startCompute,
  waitFor,
} from './harness.js';

const running: { stop: () => Promise<unknown> }[] = [];
after(async () => {
  for (const r of running.reverse()) await r.stop();
  await removeTempDirs();
});

test('records, VMs and disks survive a graceful restart and a kill -9; buffered events reach Event Grid later', async () => {
  const dataDir = await tempDir('compute-persist');
  const egPort = await freePort();
  const egEndpoint = `http://127.0.0.1:${egPort}/api/events`;
  let compute: ComputeProcess = await startCompute({ dataDir, eventGrid: { endpoint: egEndpoint, key: TOPIC_KEY } });
  running.push({ stop: () => compute.stop() });
  let client = computeClient(compute.endpoint);
  await client.virtualMachineScaleSets
    .createOrUpdate(RG, 'keep', scaleSetBody({ name: 'keep', capacity: 2 }), FAST)
    .pollUntilDone();
  const first = await adminVms(compute.endpoint, 'keep');
  assert.equal(first.length, 2);
  for (const vm of first) await waitFor(`${vm.name} first boot`, () => bootsOf(vm.disk)[0]);

  // Event Grid was not running: the events wait in the outbox.
  const pending = (await (await fetch(`${compute.endpoint}/admin/events`)).json()) as {
    value: { publishedAt: string | null; event: { eventType: string } }[];
  };
  assert.ok(pending.value.some((e) => e.event.eventType === 'Microsoft.Resources.ResourceWriteSuccess'));
  assert.ok(pending.value.every((e) => e.publishedAt === null));

  // Graceful stop: the VMs stop with the emulator; on start they boot again on the same disks.
  assert.equal(await compute.stop(), 0);
  for (const vm of first) assert.equal(processState(vm.pid!), undefined, `${vm.name} stopped with the emulator`);
  compute = await startCompute({ dataDir, eventGrid: { endpoint: egEndpoint, key: TOPIC_KEY } });
  client = computeClient(compute.endpoint);
  const second = await waitFor('VMs booted again', async () => {
    const vms = await adminVms(compute.endpoint, 'keep');
    return vms.length === 2 && vms.every((v) => v.pid) ? vms : undefined;
  });
  for (const [i, vm] of second.entries()) {
    assert.equal(vm.vmId, first[i]?.vmId, 'the same VM');
    assert.notEqual(vm.pid, first[i]?.pid, 'a new boot');
    const boots = await waitFor(`${vm.name} second boot`, () =>
      bootsOf(vm.disk).length === 2 ? bootsOf(vm.disk) : undefined,
    );
    assert.deepEqual(
      boots.map((b) => b.pid),
      [first[i]?.pid, vm.pid],
      'the same disk',
    );
  }
  const ss = await client.virtualMachineScaleSets.get(RG, 'keep');
  assert.equal(ss.provisioningState, 'Succeeded');
  assert.equal(ss.sku?.capacity, 2);

  // kill -9: the emulator gets no say, yet its VMs go too (their IPC channel closes) and come back on start.
  await compute.kill9();
  await waitFor('VM processes gone after the emulator was killed', () =>
    second.every((vm) => processState(vm.pid!) === undefined) ? true : undefined,
  );
  assert.deepEqual(processesMentioning(dataDir), []);
  const receiver = new WebhookReceiver();
  await receiver.start();
  running.push(receiver);
  const egDir = await tempDir('compute-persist-eg');
  const eventGrid: EmulatorProcess = await startEmulator({
    dataDir: egDir,
    port: egPort,
    connectionString: UNREACHABLE_STORAGE,
    configPath: await writeConfig(egDir, {
      subscriptionId: SUB,
      resourceGroup: RG,
      subscriptions: [{ name: 'vm-events', source: { type: 'topic' }, endpoint: receiver.url('vm-events') }],
    }),
  });
  running.push(eventGrid);
  compute = await startCompute({ dataDir, eventGrid: { endpoint: egEndpoint, key: TOPIC_KEY } });
  client = computeClient(compute.endpoint);
  const third = await waitFor('VMs back after kill -9', async () => {
    const vms = await adminVms(compute.endpoint, 'keep');
    return vms.length === 2 && vms.every((v) => v.pid && processState(v.pid)) ? vms : undefined;
  });
  assert.deepEqual(
    third.map((v) => v.vmId),
    first.map((v) => v.vmId),
  );
  // Ids continue where they stopped: a scale-out after the restarts gets a fresh id.
  await client.virtualMachineScaleSets.update(RG, 'keep', { sku: { capacity: 3 } }, FAST).pollUntilDone();
  assert.deepEqual(
    (await adminVms(compute.endpoint, 'keep')).map((v) => v.instanceId),
    ['0', '1', '2'],
  );
  const events = await waitFor('buffered events delivered', () => {
    const got = delivered(receiver.notifications('vm-events').map((r) => r.body));
    return got.filter((e) => e.eventType === 'Microsoft.Resources.ResourceWriteSuccess').length >= 2 ? got : undefined;
  });
  assert.ok(
    events.some(
      (e) =>
        e.eventType === 'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged' &&
        e.subject.endsWith('/virtualMachines/0'),
    ),
  );
  await client.virtualMachineScaleSets.delete(RG, 'keep', FAST).pollUntilDone();
  assert.deepEqual(processesMentioning(join(dataDir, 'disks')), [], 'no VM left (the emulator itself still runs)');
});

test('an eviction notice: the Preempt event is out while the VM still runs, the shutdown follows', async () => {
  const compute = await startCompute({ dataDir: await tempDir('compute-notice'), evictionNoticeMs: 5000 });
  running.push({ stop: () => compute.stop() });
  const client = computeClient(compute.endpoint);
  await client.virtualMachineScaleSets
    .createOrUpdate(RG, 'spot', scaleSetBody({ name: 'spot', capacity: 1, spot: 'Delete' }), FAST)
    .pollUntilDone();
  const [vm] = await adminVms(compute.endpoint, 'spot');
  assert.ok(vm?.pid);
  await client.virtualMachineScaleSetVMs.simulateEviction(RG, 'spot', '0');
  const notice = await waitFor('Preempt notice in the outbox', async () => {
    const { value } = (await (await fetch(`${compute.endpoint}/admin/events`)).json()) as {
      value: {
        event: { eventType: string; eventTime: string; data: { resourceInfo: { properties: { NotBefore: string } } } };
      }[];
    };
    return value.find(
      (e) => e.event.eventType === 'Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted',
    );
  });
  assert.ok(processState(vm.pid), 'the VM runs during the notice');
  const notBefore = Date.parse(notice.event.data.resourceInfo.properties.NotBefore);
  // NotBefore is RFC 1123 (whole seconds): the notice announced is the configured 5 s.
  assert.ok(Math.abs(notBefore - Date.parse(notice.event.eventTime) - 5000) <= 1000);
  await waitFor('evicted after the notice', () => (processState(vm.pid!) === undefined ? true : undefined));
  await waitFor('VM removed (evictionPolicy Delete)', async () =>
    (await adminVms(compute.endpoint, 'spot')).length === 0 ? true : undefined,
  );
});
