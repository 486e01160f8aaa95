import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_RECONCILE_POLICY,
  decideReconcile,
  type LifecycleStatus,
  type ReconcileObservation,
} from '../../../shared/domain/reconcile-decision.js';

const OLD = DEFAULT_RECONCILE_POLICY.minAgeMs + 1;
const LIFECYCLES: LifecycleStatus[] = [
  'absent',
  'Pending',
  'Running',
  'ContinuedAsNew',
  'Suspended',
  'Completed',
  'Failed',
  'Terminated',
];
const OPERATIONS: ReconcileObservation['operationStatus'][] = [undefined, 'InProgress', 'Succeeded', 'Failed'];

test('a creating resource with no lifecycle is started, and its missing operation recorded', () => {
  assert.deepEqual(
    decideReconcile({ provisioningState: 'creating', operationStatus: 'InProgress', lifecycle: 'absent', ageMs: OLD }),
    { action: 'start', reason: 'creating with no lifecycle', recordOperation: false },
  );
  const noOp = decideReconcile({
    provisioningState: 'creating',
    operationStatus: undefined,
    lifecycle: 'absent',
    ageMs: OLD,
  });
  assert.equal(noOp.action === 'start' && noOp.recordOperation, true);
});

test('a lifecycle that ended while the resource is still creating is started again, unless an operator terminated it', () => {
  for (const lifecycle of ['Completed', 'Failed'] as const) {
    const d = decideReconcile({ provisioningState: 'creating', operationStatus: 'InProgress', lifecycle, ageMs: OLD });
    assert.equal(d.action, 'start', lifecycle);
    assert.match(d.reason, new RegExp(lifecycle));
  }
  const terminated = { provisioningState: 'creating', operationStatus: 'InProgress', lifecycle: 'Terminated' } as const;
  assert.equal(decideReconcile({ ...terminated, ageMs: OLD }).action, 'none');
});

test('a creation already reported failed or canceled is left alone', () => {
  for (const operationStatus of ['Failed', 'Canceled'] as const) {
    const d = decideReconcile({ provisioningState: 'creating', operationStatus, lifecycle: 'absent', ageMs: OLD });
    assert.equal(d.action, 'none', operationStatus);
  }
});

test('exhaustively: start only when creating, old enough and nothing runs; never touch a finished provisioning', () => {
  for (const provisioningState of ['creating', 'succeeded', 'failed', 'deleting']) {
    for (const lifecycle of LIFECYCLES) {
      for (const operationStatus of OPERATIONS) {
        for (const ageMs of [0, DEFAULT_RECONCILE_POLICY.minAgeMs - 1, OLD]) {
          const d = decideReconcile({ provisioningState, operationStatus, lifecycle, ageMs });
          const runs = ['Pending', 'Running', 'ContinuedAsNew', 'Suspended'].includes(lifecycle);
          const respected = !runs && (lifecycle === 'Terminated' || operationStatus === 'Failed');
          const expected =
            provisioningState !== 'creating' || respected
              ? 'none'
              : runs || ageMs < DEFAULT_RECONCILE_POLICY.minAgeMs
                ? 'wait'
                : 'start';
          assert.equal(d.action, expected, JSON.stringify({ provisioningState, lifecycle, operationStatus, ageMs }));
          if (d.action === 'start') assert.equal(d.recordOperation, operationStatus === undefined);
        }
      }
    }
  }
});

test('the minimum age is a policy', () => {
  const o: ReconcileObservation = {
    provisioningState: 'creating',
    operationStatus: 'InProgress',
    lifecycle: 'absent',
    ageMs: 10,
  };
  assert.equal(decideReconcile(o).action, 'wait');
  assert.equal(decideReconcile(o, { minAgeMs: 0 }).action, 'start');
});
