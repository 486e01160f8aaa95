import type { DurableClient } from 'durable-functions';
import type { ComputeLifecycleInput, Lifecycles } from '../shared/api/api-deps.js';
import { finishJobTermination, type TransitionDeps } from '../shared/api/job-transitions.js';
import type { ClusterRecord } from '../shared/domain/cluster-view.js';
import type { JobRecord } from '../shared/domain/job-view.js';
import { parseBatchAiResourceIdOf } from '../shared/domain/resource-id.js';
import type { JobSignals } from '../shared/jobs/job-run-deps.js';
import { COMPUTE_CHANGED_EVENT, COMPUTE_LIFECYCLE, computeInstanceId } from './cluster-lifecycle.js';
import { CLUSTER_SCHEDULER, SCHEDULE_CHANGED_EVENT, schedulerInstanceId } from './cluster-scheduler.js';
import { JOB_LIFECYCLE, type JobLifecycleInput, jobInstanceId, TERMINATE_EVENT } from './job-lifecycle.js';

/** The Durable client reports an unknown instance only through its error text (HTTP 404); anything else is real. */
export async function statusOrAbsent(client: DurableClient, instanceId: string) {
  try {
    return await client.getStatus(instanceId);
  } catch (err) {
    if (/HTTP 404/.test(String((err as Error)?.message))) return undefined;
    throw err;
  }
}

/**
 * A job was queued or finished: an autoscaled cluster it targets sizes by queued + running jobs, so its lifecycle
 * is told (an event to the lifecycle, no shared state). A cluster with fixed size does not care.
 */
export async function signalClusterDemand(
  client: DurableClient,
  deps: TransitionDeps,
  jobId: string,
  /** The job's cluster when the caller knows it (saves reading the job). */
  knownClusterId?: string,
): Promise<void> {
  const job = parseBatchAiResourceIdOf('job', jobId);
  if (!job.ok) return;
  const clusterRef =
    knownClusterId ??
    ((await deps.store.get(job.value))?.record as unknown as JobRecord | undefined)?.properties.cluster?.id;
  const clusterId = clusterRef ? parseBatchAiResourceIdOf('cluster', clusterRef) : undefined;
  if (!clusterId?.ok) return;
  const cluster = await deps.store.get(clusterId.value);
  const record = cluster?.record as unknown as (ClusterRecord & { operationId?: string }) | undefined;
  if (!cluster || !record?.uid || !record.properties.scaleSettings.autoScale) return;
  await durableLifecycles(client, deps).computeChanged({
    kind: 'cluster',
    resourceId: cluster.resourceId,
    uid: record.uid,
    operationId: record.operationId ?? '',
    reason: `demand changed (job ${job.value.job})`,
  });
}

const isLive = (status: string | undefined) =>
  status === 'Running' || status === 'Pending' || status === 'ContinuedAsNew';

/** Lifecycles over the Durable client: what the API calls to start and signal orchestrations. */
export function durableLifecycles(client: DurableClient, deps: TransitionDeps): Lifecycles {
  const instanceOf = async (jobId: string): Promise<string> => {
    const parsed = parseBatchAiResourceIdOf('job', jobId);
    if (!parsed.ok) throw new Error(`not a job id: ${jobId}`);
    const stored = await deps.store.get(parsed.value);
    if (!stored) throw new Error(`job ${jobId} is not stored`);
    return jobInstanceId((stored.record as unknown as JobRecord).uid);
  };

  const startCompute = async (input: ComputeLifecycleInput) => {
    const instanceId = computeInstanceId(input.kind, input.uid);
    const existing = await statusOrAbsent(client, instanceId);
    if (isLive(existing?.runtimeStatus)) return;
    const { kind, resourceId, uid, operationId } = input;
    try {
      await client.startNew(COMPUTE_LIFECYCLE, { instanceId, input: { kind, resourceId, uid, operationId } });
    } catch (err) {
      const now = await statusOrAbsent(client, instanceId);
      if (!isLive(now?.runtimeStatus)) throw err;
    }
  };

  return {
    startCompute,
    async computeChanged(input) {
      // Whatever changes a cluster's nodes or size can change its scheduling answer (a node lost, a resize).
      if (input.kind === 'cluster') await durableJobSignals(client, deps).scheduleChanged(input.resourceId);
      const instanceId = computeInstanceId(input.kind, input.uid);
      try {
        await client.raiseEvent(instanceId, COMPUTE_CHANGED_EVENT, { reason: input.reason });
        return;
      } catch (err) {
        const status = await statusOrAbsent(client, instanceId);
        if (isLive(status?.runtimeStatus)) throw err;
      }
      // No lifecycle is running (it ended, failed, or predates this resource's last change): start one; its
      // first pass sees the change.
      await startCompute(input);
    },
    async startJob(input: JobLifecycleInput & { clusterId?: string; autoScale?: boolean }) {
      const { clusterId, uid, autoScale, ...lifecycleInput } = input;
      const instanceId = uid ? jobInstanceId(uid) : await instanceOf(input.jobId);
      const existing = await statusOrAbsent(client, instanceId);
      if (existing?.instanceId) return;
      try {
        await client.startNew(JOB_LIFECYCLE, { instanceId, input: lifecycleInput });
      } catch (err) {
        // Two submissions raced to start it: the other one won, which is what we wanted.
        const now = await statusOrAbsent(client, instanceId);
        if (!now?.instanceId) throw err;
      }
      if (autoScale !== false) await signalClusterDemand(client, deps, input.jobId, clusterId);
    },
    async terminateJob(input: JobLifecycleInput) {
      const instanceId = await instanceOf(input.jobId);
      const status = await statusOrAbsent(client, instanceId);
      if (isLive(status?.runtimeStatus)) {
        await client.raiseEvent(instanceId, TERMINATE_EVENT, { operationId: input.operationId });
      } else {
        // No lifecycle is running to act on it (never started, or already finished): finish it here.
        await finishJobTermination(deps, input);
      }
    },
  };
}

/**
 * Signals of the job side over the Durable client: wake a cluster's scheduler (started on first use; its first pass
 * runs at once) and raise an event to one job's lifecycle. Used by activities and by the agent-event handler.
 */
export function durableJobSignals(client: DurableClient, deps: TransitionDeps): JobSignals {
  const clusterUids = new Map<string, string>();
  return {
    async scheduleChanged(clusterId: string) {
      const key = clusterId.toLowerCase();
      let uid = clusterUids.get(key);
      if (!uid) {
        const parsed = parseBatchAiResourceIdOf('cluster', clusterId);
        if (!parsed.ok) return;
        const stored = await deps.store.get(parsed.value);
        uid = (stored?.record as unknown as ClusterRecord | undefined)?.uid;
        if (!uid) return;
        clusterUids.set(key, uid);
      }
      const instanceId = schedulerInstanceId(uid);
      try {
        await client.raiseEvent(instanceId, SCHEDULE_CHANGED_EVENT, {});
        return;
      } catch (err) {
        const status = await statusOrAbsent(client, instanceId);
        // Started by a concurrent signal since the raise failed: still pending, its first pass sees this change;
        // running, it gets the event now.
        if (status?.runtimeStatus === 'Pending') return;
        if (isLive(status?.runtimeStatus)) {
          await client.raiseEvent(instanceId, SCHEDULE_CHANGED_EVENT, {}).catch(() => {
            throw err;
          });
          return;
        }
      }
      try {
        await client.startNew(CLUSTER_SCHEDULER, { instanceId, input: { clusterId } });
      } catch (err) {
        // Another signal started it first. Still pending, its first pass (which runs before it waits for anything)
        // sees this change; an event raised to it that early can be refused as "no such instance".
        const now = await statusOrAbsent(client, instanceId);
        if (!isLive(now?.runtimeStatus)) throw err;
        if (now?.runtimeStatus === 'Pending') return;
        await client.raiseEvent(instanceId, SCHEDULE_CHANGED_EVENT, {});
      }
    },
    async clusterChanged(clusterId: string, reason: string) {
      const parsed = parseBatchAiResourceIdOf('cluster', clusterId);
      if (!parsed.ok) return;
      const stored = await deps.store.get(parsed.value);
      const record = stored?.record as unknown as (ClusterRecord & { operationId?: string }) | undefined;
      if (!stored || !record?.uid) return;
      await durableLifecycles(client, deps).computeChanged({
        kind: 'cluster',
        resourceId: stored.resourceId,
        uid: record.uid,
        operationId: record.operationId ?? '',
        reason,
      });
    },
    async jobEvent(jobId: string, name: string, payload: unknown) {
      const parsed = parseBatchAiResourceIdOf('job', jobId);
      if (!parsed.ok) return;
      const stored = await deps.store.get(parsed.value);
      const uid = (stored?.record as unknown as JobRecord | undefined)?.uid;
      if (!uid) return; // deleted: its lifecycle already finished it
      await raiseJobEvent(client, uid, name, payload);
    },
    async mayAwaitNodes(jobId: string, attempt: number) {
      const parsed = parseBatchAiResourceIdOf('job', jobId);
      if (!parsed.ok) return false;
      const stored = await deps.store.get(parsed.value);
      const uid = (stored?.record as unknown as JobRecord | undefined)?.uid;
      if (!uid) return false;
      const status = await statusOrAbsent(client, jobInstanceId(uid));
      if (!isLive(status?.runtimeStatus)) return false;
      // The lifecycle's status says where it is ({ phase, attempt }, job-lifecycle.ts); none yet (just started or
      // continued as new), or an earlier attempt's: it may be about to wait.
      const at = (status?.customStatus ?? {}) as { phase?: unknown; attempt?: unknown };
      if (typeof at.attempt !== 'number' || at.attempt < attempt) return true;
      return at.attempt === attempt && at.phase === 'queued';
    },
  };
}

/** An event to the lifecycle of the job with this uid; a lifecycle that has ended does not need it. */
export async function raiseJobEvent(client: DurableClient, uid: string, name: string, payload: unknown) {
  const instanceId = jobInstanceId(uid);
  try {
    await client.raiseEvent(instanceId, name, payload);
  } catch (err) {
    const status = await statusOrAbsent(client, instanceId);
    if (isLive(status?.runtimeStatus)) throw err;
  }
}
