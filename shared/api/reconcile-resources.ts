import {
  DEFAULT_RECONCILE_POLICY,
  decideReconcile,
  type LifecycleStatus,
  type ReconcileDecision,
  type ReconcilePolicy,
} from '../domain/reconcile-decision.js';
import type { BatchAiResourceKind } from '../domain/resource-id.js';
import { allItems, type StoredResource } from '../stores/resource-store.js';
import type { ApiDeps } from './api-deps.js';

// The reconciler: finds resources left `creating` with nothing driving them and starts their lifecycle
// again (issue 9: after a kill -9 of the stack, jobs stayed `creating` for good, their operation InProgress
// and no orchestration). It runs at host start and on a timer; every step is idempotent, so two hosts
// reconciling at once, or a reconcile racing a retried PUT, only repeat no-ops.

/**
 * How the reconciler drives one kind of resource. Jobs register theirs in orchestrations/reconcile-hooks.ts;
 * clusters and file servers add their own there when they get a lifecycle.
 */
export interface ReconcileHook {
  kind: BatchAiResourceKind;
  /** The runtime status of the resource's lifecycle orchestration ('absent' when there is none). */
  lifecycleStatus(resource: StoredResource): Promise<LifecycleStatus>;
  /** Starts the lifecycle, or starts it again after it ended; a no-op when it already runs. */
  startLifecycle(resource: StoredResource, operationId: string): Promise<void>;
}

export interface ReconcileOutcome {
  resourceId: string;
  decision: ReconcileDecision;
  /** Set when acting on the decision failed (the next round tries again). */
  error?: string;
}

type ReconcileDeps = Pick<ApiDeps, 'store' | 'operations' | 'now'>;

interface CreatingRecord {
  operationId: string;
  provisioningState: string;
  creationTime: string;
  provisioningStateTransitionTime?: string;
}

export async function reconcileResources(
  deps: ReconcileDeps,
  hooks: readonly ReconcileHook[],
  policy: ReconcilePolicy = DEFAULT_RECONCILE_POLICY,
): Promise<ReconcileOutcome[]> {
  const outcomes: ReconcileOutcome[] = [];
  for (const hook of hooks) {
    for await (const resource of allItems((o) => deps.store.listByProvisioningState(hook.kind, 'creating', o))) {
      outcomes.push(await reconcileOne(deps, hook, resource, policy));
    }
  }
  return outcomes;
}

async function reconcileOne(
  deps: ReconcileDeps,
  hook: ReconcileHook,
  resource: StoredResource,
  policy: ReconcilePolicy,
): Promise<ReconcileOutcome> {
  const record = resource.record as unknown as CreatingRecord;
  const since = Date.parse(record.provisioningStateTransitionTime ?? record.creationTime);
  let decision: ReconcileDecision = { action: 'none', reason: 'not observed' };
  try {
    const [operation, lifecycle] = await Promise.all([
      deps.operations.get(record.operationId),
      hook.lifecycleStatus(resource),
    ]);
    decision = decideReconcile(
      {
        provisioningState: record.provisioningState,
        operationStatus: operation?.status,
        lifecycle,
        ageMs: Number.isNaN(since) ? Number.POSITIVE_INFINITY : deps.now().getTime() - since,
      },
      policy,
    );
    if (decision.action === 'start') {
      if (decision.recordOperation) {
        // As createOnce would have: the operation a client polls exists before the lifecycle completes it.
        await deps.operations.createIfAbsent({
          operationId: record.operationId,
          resourceId: resource.resourceId,
          action: 'create',
          status: 'InProgress',
          startTime: record.creationTime,
        });
      }
      await hook.startLifecycle(resource, record.operationId);
    }
    return { resourceId: resource.resourceId, decision };
  } catch (err) {
    return { resourceId: resource.resourceId, decision, error: err instanceof Error ? err.message : String(err) };
  }
}
