import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent } from '../../../shared/domain/agent-protocol.js';
import { nextNodeRecord } from '../../../shared/domain/node-events.js';
import type { NodeRecord } from '../../../shared/domain/nodes.js';

const NOW = '2026-01-01T00:00:00.000Z';
const ref = (bootId: string) => ({
  resourceId: '/subscriptions/s/resourceGroups/r/providers/Microsoft.BatchAI/workspaces/w/clusters/c',
  scaleSetName: 'bai-cx',
  instanceId: '3',
  vmId: 'vm-3',
  bootId,
});
const registered = (bootId: string, seq: number, setup: 'none' | 'succeeded' = 'none'): AgentEvent => ({
  v: 1,
  kind: 'registered',
  node: ref(bootId),
  seq,
  at: NOW,
  ipAddress: '127.0.0.1',
  port: 4000,
  vmSize: 'STANDARD_D1_V2',
  cores: 1,
  gpus: 0,
  publicKey: 'pk',
  agentVersion: '1',
  setup,
  tasks: [],
});
const event = <K extends AgentEvent['kind']>(kind: K, bootId: string, seq: number, extra: object = {}) =>
  ({ v: 1, kind, node: ref(bootId), seq, at: NOW, ...extra }) as Extract<AgentEvent, { kind: K }>;

function apply(current: NodeRecord | undefined, e: AgentEvent, role: 'cluster' | 'fileServer' = 'cluster') {
  return nextNodeRecord(current, e, role, NOW);
}

test('a registration records the boot and waits for its setup; a file server node is ready at once', () => {
  const node = apply(undefined, registered('b1', 0)).next!;
  assert.equal(node.state, 'preparing');
  assert.equal(node.setupId, 'setup-b1');
  assert.equal(node.port, 4000);
  assert.equal(apply(undefined, registered('b1', 0), 'fileServer').next?.state, 'idle');
});

test('setup outcomes of the current setup move the node to idle or unusable (kept, with the error)', () => {
  const node = apply(undefined, registered('b1', 0)).next!;
  const idle = apply(node, event('setupSucceeded', 'b1', 1, { setupId: 'setup-b1' })).next!;
  assert.equal(idle.state, 'idle');
  assert.equal(idle.idleSince, NOW);
  const error = { code: 'MountFailed', message: 'no such share' };
  const failed = apply(node, event('setupFailed', 'b1', 1, { setupId: 'setup-b1', error })).next!;
  assert.equal(failed.state, 'unusable');
  assert.equal(failed.unusableReason, 'setupFailed');
  assert.deepEqual(failed.error, error);
  const other = apply(node, event('setupSucceeded', 'b1', 2, { setupId: 'setup-old' })).next!;
  assert.equal(other.state, 'preparing', 'the outcome of another setup changes no state');
});

test('every event applies once: a redelivered or late event of the same boot is ignored', () => {
  const node = apply(undefined, registered('b1', 0)).next!;
  const idle = apply(node, event('setupSucceeded', 'b1', 1, { setupId: 'setup-b1' })).next!;
  assert.match(apply(idle, event('setupSucceeded', 'b1', 1, { setupId: 'setup-b1' })).ignored!, /already applied/);
  assert.match(apply(idle, registered('b1', 0)).ignored!, /already applied/);
});

test('a new boot starts over (setup sent again); events of the replaced boot are ignored', () => {
  const first = apply(
    apply(undefined, registered('b1', 0)).next!,
    event('setupSucceeded', 'b1', 1, { setupId: 'setup-b1' }),
  ).next!;
  const second = apply(first, registered('b2', 0)).next!;
  assert.equal(second.state, 'preparing');
  assert.equal(second.setupId, 'setup-b2');
  assert.deepEqual(second.pastBootIds, ['b1']);
  assert.match(apply(second, registered('b1', 5)).ignored!, /replaced/);
  assert.match(
    apply(second, event('setupFailed', 'b1', 6, { setupId: 'setup-b1', error: { code: 'x', message: 'y' } })).ignored!,
    /replaced/,
  );
  assert.match(apply(undefined, event('heartbeat', 'b9', 1, { tasks: [] })).ignored!, /no registration/);
});

test('stopping: deallocated means lost (replaced), deleted means leaving, a graceful shutdown keeps the node', () => {
  const idle = apply(
    apply(undefined, registered('b1', 0)).next!,
    event('setupSucceeded', 'b1', 1, { setupId: 'setup-b1' }),
  ).next!;
  const lost = apply(idle, event('stopping', 'b1', 2, { reason: 'deallocated' })).next!;
  assert.deepEqual([lost.state, lost.unusableReason], ['unusable', 'lost']);
  assert.equal(apply(idle, event('stopping', 'b1', 2, { reason: 'deleted' })).next!.state, 'leaving');
  const kept = apply(idle, event('stopping', 'b1', 2, { reason: 'shutdown' })).next!;
  assert.equal(kept.state, 'idle');
  assert.equal(kept.lastSeq, 2);
  // …but is marked stopping (no job may be held or given there) until its next boot registers.
  assert.equal(kept.stoppingSince, NOW);
  assert.equal(apply(kept, registered('b1', 3, 'succeeded')).next!.stoppingSince, NOW, 'a re-report of the same boot');
  assert.equal(apply(kept, registered('b2', 0)).next!.stoppingSince, undefined, 'a new boot');
});
