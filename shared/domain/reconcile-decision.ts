// What the reconciler does with one resource whose provisioning has not finished. A resource can be left
// `creating` with nothing driving it: the process that stored it died before starting its lifecycle, the
// queue message that would have retried it was lost, or the lifecycle itself ended without finishing the
// creation. Pure: the caller observes, this decides, the caller acts (and acting twice is harmless).

/** The runtime status of the resource's orchestration, or 'absent' when there is none. */
export type LifecycleStatus =
  | 'absent'
  | 'Pending'
  | 'Running'
  | 'ContinuedAsNew'
  | 'Suspended'
  | 'Completed'
  | 'Failed'
  | 'Terminated';

export interface ReconcileObservation {
  provisioningState: string;
  /** Status of the create operation, or undefined when it was never recorded. */
  operationStatus: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled' | undefined;
  lifecycle: LifecycleStatus;
  /** Time since the resource was created (its provisioning state last changed). */
  ageMs: number;
}

export interface ReconcilePolicy {
  /**
   * A younger resource is left to the request that created it, which starts its lifecycle itself; the
   * reconciler would only race it (harmlessly, but for nothing).
   */
  minAgeMs: number;
}

export const DEFAULT_RECONCILE_POLICY: ReconcilePolicy = { minAgeMs: 30_000 };

export type ReconcileDecision =
  | { action: 'none'; reason: string }
  | { action: 'wait'; reason: string }
  /** Start (or start again) the lifecycle; `recordOperation` when the create operation must be recorded first. */
  | { action: 'start'; reason: string; recordOperation: boolean };

const RUNNING: ReadonlySet<LifecycleStatus> = new Set(['Pending', 'Running', 'ContinuedAsNew']);

export function decideReconcile(
  o: ReconcileObservation,
  policy: ReconcilePolicy = DEFAULT_RECONCILE_POLICY,
): ReconcileDecision {
  if (o.provisioningState !== 'creating') return { action: 'none', reason: `provisioning is ${o.provisioningState}` };
  if (RUNNING.has(o.lifecycle)) return { action: 'wait', reason: `its lifecycle is ${o.lifecycle}` };
  if (o.lifecycle === 'Suspended') return { action: 'wait', reason: 'its lifecycle was suspended by an operator' };
  // An operator's terminate, and a creation already reported as failed or canceled, are decisions to respect.
  if (o.lifecycle === 'Terminated') return { action: 'none', reason: 'its lifecycle was terminated by an operator' };
  if (o.operationStatus === 'Failed' || o.operationStatus === 'Canceled') {
    return { action: 'none', reason: `its creation is ${o.operationStatus.toLowerCase()}` };
  }
  if (o.ageMs < policy.minAgeMs) return { action: 'wait', reason: 'just created: its creator starts the lifecycle' };
  const recordOperation = o.operationStatus === undefined;
  const reason =
    o.lifecycle === 'absent'
      ? 'creating with no lifecycle'
      : `creating, but its lifecycle ended (${o.lifecycle}) without finishing the creation`;
  return { action: 'start', reason, recordOperation };
}
