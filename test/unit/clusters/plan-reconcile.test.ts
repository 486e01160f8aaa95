import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { classifyComputeError } from '../../../shared/domain/cluster-errors.js';
import type { ScaleSettings } from '../../../shared/domain/cluster-schema.js';
import { countNodeStates, type NodeRecord, type NodeState } from '../../../shared/domain/nodes.js';
import { planReconcile, type ReconcileView, targetNodeCount } from '../../../shared/domain/plan-reconcile.js';

const NOW = '2026-01-01T00:10:00.000Z';
const manual = (n: number): ScaleSettings => ({ manual: { targetNodeCount: n, nodeDeallocationOption: 'requeue' } });
const auto = (min: number, max: number, initial = 0): ScaleSettings => ({
  autoScale: { minimumNodeCount: min, maximumNodeCount: max, initialNodeCount: initial },
});

function node(instanceId: string, state: NodeState, extra: Partial<NodeRecord> = {}): NodeRecord {
  return {
    scaleSetName: 'bai-cx',
    instanceId,
    resourceId: '/c',
    state,
    stateSince: '2026-01-01T00:00:00.000Z',
    createdAt: '2026-01-01T00:00:00.000Z',
    ...(state === 'idle' ? { idleSince: '2026-01-01T00:00:00.000Z' } : {}),
    ...extra,
  };
}

function view(partial: Partial<ReconcileView> & { nodes: NodeRecord[] }): ReconcileView {
  const instances = partial.instances ?? partial.nodes.map((n) => ({ instanceId: n.instanceId, healthy: true }));
  return {
    now: NOW,
    deleting: false,
    scale: manual(partial.nodes.length),
    demandNodes: 0,
    idleGraceMs: 60_000,
    scaleSet: { exists: true, capacity: instances.length },
    ...partial,
    instances,
  };
}

test('a new cluster creates its scale set at the target (autoscale: at least the initial count)', () => {
  assert.deepEqual(
    planReconcile(view({ nodes: [], scale: manual(3), scaleSet: { exists: false, capacity: 0 } })).createScaleSet,
    {
      capacity: 3,
    },
  );
  const a = planReconcile(view({ nodes: [], scale: auto(0, 4, 2), scaleSet: { exists: false, capacity: 0 } }));
  assert.deepEqual(a.createScaleSet, { capacity: 2 });
  assert.equal(a.steady, false);
});

test('at the target with every node known: steady, nothing to do', () => {
  const plan = planReconcile(view({ nodes: [node('0', 'idle'), node('1', 'preparing'), node('2', 'idle')] }));
  assert.equal(plan.steady, true);
  assert.deepEqual([plan.deleteInstances, plan.createNodes, plan.deleteNodes, plan.capacity], [[], [], [], undefined]);
});

test('a lost node is deleted and replaced; a node whose setup failed is kept', () => {
  const plan = planReconcile(
    view({
      scale: manual(3),
      nodes: [
        node('0', 'idle'),
        node('1', 'unusable', { unusableReason: 'lost' }),
        node('2', 'unusable', { unusableReason: 'setupFailed' }),
      ],
    }),
  );
  assert.deepEqual(plan.deleteInstances, ['1']);
  assert.deepEqual(plan.deleteNodes, ['1']);
  assert.equal(plan.capacity, 3, 'refilled to the target after the delete');
  assert.equal(plan.steady, false);
});

test('an evicted instance that is already gone: its node record goes, the scale set grows back', () => {
  const plan = planReconcile(
    view({
      scale: manual(3),
      nodes: [node('0', 'idle'), node('1', 'idle'), node('2', 'idle')],
      instances: [
        { instanceId: '0', healthy: true },
        { instanceId: '2', healthy: true },
      ],
    }),
  );
  assert.deepEqual(plan.deleteInstances, []);
  assert.deepEqual(plan.deleteNodes, ['1']);
  assert.equal(plan.capacity, 3);
});

test('manual shrink removes unusable, then preparing, then the longest idle nodes; never running ones', () => {
  const plan = planReconcile(
    view({
      scale: manual(1),
      nodes: [
        node('0', 'running'),
        node('1', 'idle', { idleSince: '2026-01-01T00:05:00.000Z' }),
        node('2', 'idle', { idleSince: '2026-01-01T00:01:00.000Z' }),
        node('3', 'preparing'),
      ],
    }),
  );
  assert.deepEqual(plan.deleteInstances, ['3', '2', '1']);
  assert.equal(plan.capacity, undefined, 'deleting instances lowers the capacity by itself');
  const running = planReconcile(view({ scale: manual(0), nodes: [node('0', 'running')] }));
  assert.deepEqual(running.deleteInstances, []);
  assert.deepEqual(running.releaseRunning, ['0'], 'handed to the job lifecycles (nodeDeallocationOption)');
});

test('autoscale follows demand between min and max, and removes only nodes idle past the grace period', () => {
  assert.equal(targetNodeCount(auto(1, 4), 0), 1);
  assert.equal(targetNodeCount(auto(0, 4), 9), 4);
  const grow = planReconcile(view({ scale: auto(0, 4), demandNodes: 3, nodes: [] }));
  assert.equal(grow.capacity, 3);
  const fresh = planReconcile(
    view({ scale: auto(0, 4), nodes: [node('0', 'idle', { idleSince: '2026-01-01T00:09:30.000Z' })] }),
  );
  assert.deepEqual(fresh.deleteInstances, []);
  assert.equal(fresh.nextCheckAt, '2026-01-01T00:10:30.000Z', 'looks again when the grace period ends');
  assert.equal(fresh.steady, true);
  const old = planReconcile(view({ scale: auto(0, 4), nodes: [node('0', 'idle')] }));
  assert.deepEqual(old.deleteInstances, ['0']);
});

test('a scale-out that failed for quota is not retried until the target changes', () => {
  const same = planReconcile(view({ scale: manual(5), failedTarget: 5, nodes: [node('0', 'idle')] }));
  assert.equal(same.capacity, undefined);
  assert.equal(same.steady, true);
  const moved = planReconcile(view({ scale: manual(4), failedTarget: 5, nodes: [node('0', 'idle')] }));
  assert.equal(moved.capacity, 4);
  const atCreate = planReconcile(
    view({ scale: manual(5), failedTarget: 5, nodes: [], scaleSet: { exists: false, capacity: 0 } }),
  );
  assert.deepEqual(atCreate.createScaleSet, { capacity: 0 }, 'the scale set still exists, empty');
});

test('deleting removes the scale set and every node, then reports done', () => {
  const busy = planReconcile(view({ deleting: true, nodes: [node('0', 'idle')] }));
  assert.equal(busy.deleteScaleSet, true);
  assert.deepEqual(busy.deleteNodes, ['0']);
  assert.equal(busy.steady, false);
  const done = planReconcile(
    view({ deleting: true, nodes: [], instances: [], scaleSet: { exists: false, capacity: 0 } }),
  );
  assert.equal(done.steady, true);
});

test('missed heartbeats: a registered node silent too long is lost; silence counts from when the app watches', () => {
  const heartbeats = { lostAfterMs: 60_000, watchingSince: '2026-01-01T00:00:00.000Z' };
  const quiet = node('0', 'idle', { bootId: 'b', lastSeen: '2026-01-01T00:08:00.000Z' } as Partial<NodeRecord>);
  const fresh = node('1', 'idle', { bootId: 'b', lastSeen: '2026-01-01T00:09:50.000Z' } as Partial<NodeRecord>);
  const booting = node('2', 'preparing');
  const plan = planReconcile(view({ scale: manual(3), nodes: [quiet, fresh, booting], heartbeats }));
  assert.deepEqual(plan.deleteInstances, ['0'], 'only the registered node not heard from for 2 minutes');
  assert.equal(plan.capacity, 3, 'and it is replaced');
  // The app (re)started 30 s ago: nobody has had the chance to report yet.
  const restarted = planReconcile(
    view({
      scale: manual(3),
      nodes: [quiet, fresh, booting],
      heartbeats: { ...heartbeats, watchingSince: '2026-01-01T00:09:30.000Z' },
    }),
  );
  assert.deepEqual(restarted.deleteInstances, []);
  assert.equal(restarted.nextCheckAt, '2026-01-01T00:10:30.000Z', 'looks again when the first node could be silent');
  // A node that has not registered yet is looked at again one loss window later.
  const unregistered = planReconcile(view({ scale: manual(1), nodes: [booting], heartbeats }));
  assert.equal(unregistered.nextCheckAt, '2026-01-01T00:11:00.000Z');
});

test('instances without a node record are recorded as preparing', () => {
  const plan = planReconcile(
    view({
      nodes: [node('0', 'idle')],
      scale: manual(2),
      instances: [
        { instanceId: '0', healthy: true },
        { instanceId: '1', healthy: true },
      ],
    }),
  );
  assert.deepEqual(plan.createNodes, ['1']);
  assert.equal(plan.capacity, undefined);
});

test('a leaving node (given back by a released job) is always removed, and replaced when the target needs it', () => {
  // Shrink 2 → 1: one running node released; once its job gives it back as leaving, it is the one removed.
  const released = planReconcile(view({ scale: manual(1), nodes: [node('0', 'running'), node('1', 'leaving')] }));
  assert.deepEqual(released.deleteInstances, ['1']);
  assert.deepEqual(released.releaseRunning, []);
  assert.equal(released.capacity, undefined);
  // The target grew back to 2 meanwhile: the leaving node still goes (no job would ever get it), and a new one comes.
  const regrown = planReconcile(view({ scale: manual(2), nodes: [node('0', 'running'), node('1', 'leaving')] }));
  assert.deepEqual(regrown.deleteInstances, ['1']);
  assert.equal(regrown.capacity, 2);
  // Two running nodes, target 1: exactly one is released; the other keeps its job.
  const both = planReconcile(view({ scale: manual(1), nodes: [node('0', 'running'), node('1', 'running')] }));
  assert.equal(both.releaseRunning.length, 1);
  assert.deepEqual(both.deleteInstances, []);
});

test('properties: the plan never deletes a running node, never goes below the target, and settles', () => {
  const states: NodeState[] = ['preparing', 'idle', 'running', 'unusable', 'leaving'];
  fc.assert(
    fc.property(
      fc.array(fc.record({ state: fc.constantFrom(...states), lost: fc.boolean(), healthy: fc.boolean() }), {
        maxLength: 12,
      }),
      fc.integer({ min: 0, max: 12 }),
      (specs, target) => {
        const nodes = specs.map((s, i) =>
          node(String(i), s.state, s.state === 'unusable' ? { unusableReason: s.lost ? 'lost' : 'setupFailed' } : {}),
        );
        const instances = specs.map((s, i) => ({ instanceId: String(i), healthy: s.healthy }));
        const plan = planReconcile(view({ scale: manual(target), nodes, instances }));
        for (const id of plan.deleteInstances) {
          const n = nodes[Number(id)]!;
          assert.ok(
            n.state !== 'running' || !instances[Number(id)]!.healthy,
            'a healthy running node is never deleted',
          );
        }
        const lost = specs.filter((s) => !s.healthy || (s.state === 'unusable' && s.lost)).length;
        // The scale set ends at the target or above (surplus running nodes wait for their jobs).
        const capacityAfter = plan.capacity ?? specs.length - plan.deleteInstances.length;
        assert.ok(capacityAfter >= target, `capacity ${capacityAfter} below target ${target}`);
        assert.ok(plan.deleteInstances.length >= lost, 'every lost node is deleted');
        assert.equal(countNodeStates(nodes).idleNodeCount, nodes.filter((n) => n.state === 'idle').length);
      },
    ),
  );
});

test('compute errors: quota, allocation, bad image and bad definitions are told apart', () => {
  assert.equal(
    classifyComputeError(
      'OperationNotAllowed',
      'Operation could not be completed as it results in exceeding approved Total Regional Cores quota.',
    ),
    'quota',
  );
  assert.equal(
    classifyComputeError('OperationNotAllowed', 'Operation is not allowed since the VM is deallocated'),
    'allocation',
  );
  assert.equal(classifyComputeError('ImageNotFound', 'no such image'), 'badImage');
  assert.equal(
    classifyComputeError('InvalidParameter', 'The value X provided for the VM size is not valid.'),
    'badDefinition',
  );
  assert.equal(classifyComputeError('AllocationFailed', 'no capacity'), 'allocation');
});
