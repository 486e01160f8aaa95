import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { AgentEvent } from '../../../shared/domain/agent-protocol.js';
import { nextNodeRecord } from '../../../shared/domain/node-events.js';
import type { NodeRecord } from '../../../shared/domain/nodes.js';
import {
  type GridEvent,
  nextNodeOnVmSignal,
  normalizeGridEvent,
  type VmSignal,
  vmEventMeaning,
} from '../../../shared/domain/vm-events.js';

// Every VM event shape, in both schemas, against a node that runs a job: what it does to the node, and that a
// repeat, an older event or an event of a past boot does nothing.

const FIXTURES = new URL('../../../../test/fixtures/vm-events/', import.meta.url);
const SCHEMAS = ['eventgrid', 'cloudevents'] as const;
const SCALE_SET = 'bai-cfixture0000000000000000';
const EVENT_TIME = '2026-01-01T00:10:00.000Z';
const NOW = '2026-01-01T00:10:01.000Z';

type Expected = 'lost' | 'restarted' | 'noted' | 'ignored';
const EXPECTED: Record<string, Expected> = {
  'availability-unavailable': 'lost',
  'availability-degraded': 'noted',
  'availability-available': 'noted',
  'annotated-preempted': 'lost',
  'annotated-host-crashed': 'lost',
  'annotated-host-rebooted-for-repair': 'lost',
  'annotated-storage-offline': 'lost',
  'annotated-provisioning-timed-out': 'lost',
  'annotated-deallocation-initiated': 'lost',
  'annotated-stop-initiated': 'lost',
  'annotated-restarted': 'restarted',
  'resources-action-deallocate': 'lost',
  'resources-action-poweroff': 'lost',
  'resources-action-restart': 'ignored',
  'resources-delete-vm': 'lost',
  'resources-write-scale-set': 'ignored',
  'scheduled-preempt': 'lost',
  'scheduled-preempt-completed': 'ignored',
  'scheduled-reboot': 'ignored',
};

function fixture(schema: (typeof SCHEMAS)[number], name: string): GridEvent {
  const raw: unknown = JSON.parse(readFileSync(new URL(`${schema}/${name}.json`, FIXTURES), 'utf8'));
  const event = normalizeGridEvent(raw);
  assert.notEqual(typeof event, 'string', `${schema}/${name}: ${String(event)}`);
  return event as GridEvent;
}

function runningNode(extra: Partial<NodeRecord> = {}): NodeRecord {
  return {
    scaleSetName: SCALE_SET,
    instanceId: '3',
    resourceId: '/subscriptions/s/resourceGroups/r/providers/Microsoft.BatchAI/workspaces/w/clusters/c',
    state: 'running',
    stateSince: '2026-01-01T00:05:00.000Z',
    createdAt: '2026-01-01T00:00:00.000Z',
    bootId: 'b1',
    bootAt: '2026-01-01T00:01:00.000Z',
    lastSeq: 7,
    setupId: 'setup-b1',
    publicKey: 'pk',
    ...extra,
  };
}

function signalOf(event: GridEvent): VmSignal {
  const meaning = vmEventMeaning(event);
  assert.ok('signals' in meaning, `expected a signal, got: ${JSON.stringify(meaning)}`);
  assert.equal(meaning.signals.length, 1);
  return meaning.signals[0]!;
}

test('every fixture exists in both schemas and is in the table', () => {
  for (const schema of SCHEMAS) {
    const names = readdirSync(new URL(`${schema}/`, FIXTURES)).map((f) => f.replace(/\.json$/, ''));
    assert.deepEqual(names.sort(), Object.keys(EXPECTED).sort(), schema);
  }
});

for (const [name, expected] of Object.entries(EXPECTED)) {
  test(`${name} → ${expected} (Event Grid and CloudEvents schemas alike)`, () => {
    const [grid, cloud] = SCHEMAS.map((schema) => fixture(schema, name));
    assert.deepEqual(cloud, grid, 'both schemas normalise to the same event');
    const event = grid!;
    assert.equal(event.eventTime, EVENT_TIME);
    const meaning = vmEventMeaning(event);
    if (expected === 'ignored') {
      assert.ok('ignored' in meaning, `${name} should mean nothing, got ${JSON.stringify(meaning)}`);
      return;
    }
    const signal = signalOf(event);
    assert.deepEqual([signal.scaleSetName, signal.instanceId, signal.kind], [SCALE_SET, '3', expected]);
    const node = runningNode();
    const first = nextNodeOnVmSignal(node, signal, NOW);
    assert.ok(first.next, `${name} changes the record`);
    assert.equal(first.next.vmEventAt, EVENT_TIME, 'the event time is recorded');
    if (expected === 'lost') {
      assert.equal(first.next.state, 'unusable');
      assert.equal(first.next.unusableReason, 'lost');
      assert.equal(first.next.error?.code, 'NodeLost');
      assert.equal(first.notify, true);
    } else if (expected === 'restarted') {
      assert.equal(first.next.state, 'preparing');
      assert.equal(first.next.setupId, undefined, "the old boot's setup no longer counts");
      assert.equal(first.notify, true);
    } else {
      assert.equal(first.next.state, 'running');
      assert.notEqual(first.notify, true);
    }
    // The same event again (Event Grid delivers at least once) changes nothing.
    const again = nextNodeOnVmSignal(first.next, signal, NOW);
    assert.equal(again.next, undefined, `${name} applied twice: ${JSON.stringify(again)}`);
    assert.ok(again.ignored);
    // The same event about a boot that is over (the node re-registered after it) changes nothing.
    const rebooted = runningNode({ bootId: 'b2', bootAt: '2026-01-01T00:10:30.000Z' });
    assert.match(nextNodeOnVmSignal(rebooted, signal, NOW).ignored ?? '', /older than the node's current boot/);
    // An unknown VM (never ours, or already removed) is dropped with a reason.
    assert.match(nextNodeOnVmSignal(undefined, signal, NOW).ignored ?? '', /no such node/);
  });
}

test('events out of order: an older event arriving after a newer one changes nothing', () => {
  const unavailable = signalOf(fixture('cloudevents', 'availability-unavailable'));
  const available = {
    ...signalOf(fixture('eventgrid', 'availability-available')),
    eventTime: '2026-01-01T00:10:05.000Z',
  };
  // Newer Available first (the VM came back), then the older Unavailable: the node stays as it is.
  const afterAvailable = nextNodeOnVmSignal(runningNode(), available, NOW).next!;
  assert.equal(afterAvailable.state, 'running');
  const late = nextNodeOnVmSignal(afterAvailable, unavailable, NOW);
  assert.equal(late.next, undefined);
  assert.match(late.ignored!, /older than one already applied/);
  // In order, the same pair loses the node once; the Available after it does not bring it back.
  const lost = nextNodeOnVmSignal(runningNode(), unavailable, NOW).next!;
  assert.equal(lost.state, 'unusable');
  assert.equal(nextNodeOnVmSignal(lost, available, NOW).next, undefined);
  // A preemption notice followed by the annotation and Unavailable for the same eviction: lost once.
  const preempt = signalOf(fixture('eventgrid', 'scheduled-preempt'));
  const preempted = { ...signalOf(fixture('eventgrid', 'annotated-preempted')), eventTime: '2026-01-01T00:10:30.000Z' };
  const evicted = nextNodeOnVmSignal(runningNode(), preempt, NOW);
  assert.equal(evicted.notify, true);
  assert.equal(nextNodeOnVmSignal(evicted.next, preempted, NOW).next, undefined);
});

test('a node that is being removed, or is already lost, is left alone', () => {
  const signal = signalOf(fixture('eventgrid', 'resources-delete-vm'));
  assert.match(nextNodeOnVmSignal(runningNode({ state: 'leaving' }), signal, NOW).ignored!, /being removed/);
  const lost = runningNode({ state: 'unusable', unusableReason: 'lost' });
  assert.match(nextNodeOnVmSignal(lost, signal, NOW).ignored!, /already lost/);
  // A node whose setup failed is kept unusable for its error, but a lost VM still replaces it.
  const failedSetup = runningNode({ state: 'unusable', unusableReason: 'setupFailed' });
  assert.equal(nextNodeOnVmSignal(failedSetup, signal, NOW).next?.unusableReason, 'lost');
});

test("after a restart, a late setup outcome of the old boot does not make the node idle; the next boot's does", () => {
  const restarted = nextNodeOnVmSignal(
    runningNode({ state: 'preparing' }),
    signalOf(fixture('eventgrid', 'annotated-restarted')),
    NOW,
  ).next!;
  const ref = { resourceId: restarted.resourceId, scaleSetName: SCALE_SET, instanceId: '3', vmId: 'vm', bootId: 'b1' };
  const late: AgentEvent = { v: 1, kind: 'setupSucceeded', node: ref, seq: 8, at: NOW, setupId: 'setup-b1' };
  assert.equal(nextNodeRecord(restarted, late, 'cluster', NOW).next?.state, 'preparing');
  const registered: AgentEvent = {
    v: 1,
    kind: 'registered',
    node: { ...ref, bootId: 'b2' },
    seq: 0,
    at: '2026-01-01T00:10:20.000Z',
    ipAddress: '127.0.0.1',
    port: 1,
    vmSize: 'STANDARD_D1_V2',
    cores: 1,
    gpus: 0,
    publicKey: 'pk2',
    agentVersion: '1',
    setup: 'none',
    tasks: [],
  };
  const next = nextNodeRecord(restarted, registered, 'cluster', NOW).next!;
  assert.deepEqual([next.state, next.setupId, next.bootAt], ['preparing', 'setup-b2', '2026-01-01T00:10:20.000Z']);
});

test('a scheduled event names VMs by {scaleSet}_{instanceId}; names of another scale set are not ours', () => {
  const base = fixture('eventgrid', 'scheduled-preempt');
  const data = structuredClone(base.data) as { resourceInfo: { properties: { Resources: string[] } } };
  data.resourceInfo.properties.Resources = [
    `${SCALE_SET}_3`,
    `${SCALE_SET.toUpperCase()}_12`,
    'othervmss_1',
    'noinstance',
  ];
  const meaning = vmEventMeaning({ ...base, data });
  assert.ok('signals' in meaning);
  assert.deepEqual(
    meaning.signals.map((s) => [s.scaleSetName, s.instanceId, s.kind]),
    [
      [SCALE_SET, '3', 'lost'],
      [SCALE_SET, '12', 'lost'],
    ],
  );
});

test('envelopes: the resource event time wins, malformed events are reported, not thrown', () => {
  const raw = JSON.parse(readFileSync(new URL('cloudevents/annotated-preempted.json', FIXTURES), 'utf8'));
  const published = { ...raw, time: '2026-01-01T00:11:00Z' };
  assert.equal((normalizeGridEvent(published) as GridEvent).eventTime, EVENT_TIME);
  const { operationalInfo: _o, ...data } = raw.data;
  assert.equal((normalizeGridEvent({ ...published, data }) as GridEvent).eventTime, '2026-01-01T00:11:00.000Z');
  assert.equal(typeof normalizeGridEvent(null), 'string');
  assert.equal(typeof normalizeGridEvent([raw]), 'string');
  assert.equal(typeof normalizeGridEvent({ ...raw, time: 'yesterday', data: {} }), 'string');
  assert.equal(typeof normalizeGridEvent({ id: 'x', subject: 's' }), 'string');
  assert.ok(
    'ignored' in
      vmEventMeaning({
        id: 'x',
        eventType: 'Microsoft.Storage.BlobCreated',
        subject: '/x',
        eventTime: EVENT_TIME,
        data: {},
      }),
  );
});

test('a lost node carries the cause its event names (first one kept), so the job loss counts by kind', () => {
  for (const schema of SCHEMAS) {
    const signalOf = (name: string) => {
      const meaning = vmEventMeaning(fixture(schema, name));
      assert.ok('signals' in meaning, `${schema}/${name}`);
      return meaning.signals[0]!;
    };
    assert.equal(signalOf('scheduled-preempt').cause, 'Preempt', schema);
    assert.equal(signalOf('annotated-preempted').cause, 'VirtualMachinePreempted', schema);
    assert.equal(signalOf('annotated-host-crashed').cause, 'VirtualMachineHostCrashed', schema);
    assert.equal(signalOf('availability-unavailable').cause, undefined, schema);

    // Unavailable first (no cause), then the annotation that names it: the node stays lost and learns the cause.
    const lost = nextNodeOnVmSignal(runningNode(), signalOf('availability-unavailable'), NOW).next!;
    assert.equal(lost.state, 'unusable');
    assert.equal(lost.lostBecause, undefined);
    const named = nextNodeOnVmSignal(lost, signalOf('annotated-preempted'), NOW);
    assert.equal(named.next?.lostBecause, 'VirtualMachinePreempted', schema);
    assert.equal(named.notify, undefined, 'the lifecycle heard of the loss already');
    // A later cause does not replace the first one.
    const again = nextNodeOnVmSignal(named.next!, signalOf('annotated-host-crashed'), NOW);
    assert.equal(again.next, undefined);
  }
});
