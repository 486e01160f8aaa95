import type { DurableClient } from 'durable-functions';
import type { ReconcileHook } from '../shared/api/reconcile-resources.js';
import type { JobRecord } from '../shared/domain/job-view.js';
import type { LifecycleStatus } from '../shared/domain/reconcile-decision.js';
import type { StoredResource } from '../shared/stores/resource-store.js';
import { JOB_LIFECYCLE, type JobLifecycleInput, jobInstanceId } from './job-lifecycle.js';
import { statusOrAbsent } from './lifecycles.js';

// One hook per kind of resource the reconciler drives on (shared/api/reconcile-resources.ts). Clusters and
// file servers add theirs to `reconcileHooks` when they get a lifecycle.

const KNOWN: ReadonlySet<string> = new Set<LifecycleStatus>([
  'Pending',
  'Running',
  'ContinuedAsNew',
  'Suspended',
  'Completed',
  'Failed',
  'Terminated',
]);

/** The status of an orchestration as the reconciler sees it; an unknown status counts as running (wait). */
export async function lifecycleStatusOf(client: DurableClient, instanceId: string): Promise<LifecycleStatus> {
  const s = await statusOrAbsent(client, instanceId);
  if (!s?.instanceId) return 'absent';
  const status = String(s.runtimeStatus);
  return KNOWN.has(status) ? (status as LifecycleStatus) : 'Running';
}

/**
 * Starts an orchestration under a fixed instance id: a new one, or a new execution replacing one that
 * ended (Durable's startNew replaces a finished instance). Losing a race to another starter is success.
 */
export async function startOrchestrationOnce(
  client: DurableClient,
  name: string,
  instanceId: string,
  input: unknown,
): Promise<void> {
  try {
    await client.startNew(name, { instanceId, input });
  } catch (err) {
    const now = await lifecycleStatusOf(client, instanceId);
    if (now !== 'Pending' && now !== 'Running') throw err;
  }
}

export function jobReconcileHook(client: DurableClient): ReconcileHook {
  const instanceOf = (resource: StoredResource) => jobInstanceId((resource.record as unknown as JobRecord).uid);
  return {
    kind: 'job',
    lifecycleStatus: (resource) => lifecycleStatusOf(client, instanceOf(resource)),
    startLifecycle: (resource, operationId) => {
      const input: JobLifecycleInput = { jobId: resource.resourceId, operationId };
      return startOrchestrationOnce(client, JOB_LIFECYCLE, instanceOf(resource), input);
    },
  };
}

export function reconcileHooks(client: DurableClient): ReconcileHook[] {
  return [jobReconcileHook(client)];
}
