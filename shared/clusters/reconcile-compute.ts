import type { ComputeLifecycleInput } from '../api/api-deps.js';
import { completeOperation } from '../api/operation-tracker.js';
import { buildScaleSet, type ScaleSetSettings, type ScaleSetSpec } from '../compute/build-scale-set.js';
import { ComputeError, isHealthyInstance, type ScaleSetInstance, type ScaleSets } from '../compute/scale-sets.js';
import { nodeIdOf, scaleSetNameFor } from '../domain/agent-protocol.js';
import { classifyComputeError, computeClusterError, nodeSetupError } from '../domain/cluster-errors.js';
import type { ScaleSettings } from '../domain/cluster-schema.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import { type FileServerRecord, fileServerExportPath } from '../domain/file-server-view.js';
import { type NodeRecord, withNodeState } from '../domain/nodes.js';
import { planReconcile, type ReconcilePlan } from '../domain/plan-reconcile.js';
import type { BatchAiResourceId } from '../domain/resource-id.js';
import { parseBatchAiResourceId } from '../domain/resource-id.js';
import type { BatchAiError } from '../domain/resource-states.js';
import type { NodeCommands } from '../nodes/node-commands.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { ClusterDemand } from '../stores/cluster-demand.js';
import type { NodeStore, StoredNode } from '../stores/node-store.js';
import type { OperationStore, ResourceStore } from '../stores/resource-store.js';

// One pass of a cluster's (or file server's) lifecycle: read what should be and what is, plan (pure, in
// shared/domain), act on the plan through the compute role, and write what the API shows (allocation state,
// errors, provisioning state, the create/delete operations). Safe to run again at any time: every step is
// idempotent, and the next pass sees the result of the last one.

export interface ComputeDeps {
  store: ResourceStore;
  operations: OperationStore;
  nodes: NodeStore;
  scaleSets: ScaleSets;
  secrets: SecretBox;
  commands: NodeCommands;
  demand: ClusterDemand;
  scaleSetSettings: ScaleSetSettings;
  /** Autoscale removes nodes idle longer than this. */
  idleGraceMs: number;
  /** Missed heartbeats: a registered node silent this long is lost; counted from `watchingSince` at the earliest. */
  heartbeats?: { lostAfterMs: number; watchingSince: Date };
  /**
   * Surplus nodes that run jobs, to be released as the cluster's nodeDeallocationOption says (requeue or
   * terminate their jobs now, or wait for them to complete). The jobs issue implements it by raising events to the
   * job lifecycles on those nodes; the cluster only asks, and deletes the nodes once they are idle. Absent: nodes
   * running jobs are simply kept until they are idle.
   */
  releaseNodes?(request: {
    resourceId: string;
    scaleSetName: string;
    instanceIds: string[];
    option: 'requeue' | 'terminate' | 'waitforjobcompletion';
  }): Promise<void>;
  /**
   * Nodes this pass gives up (lost: silent or their VM gone; or surplus) were just marked leaving: the cluster's
   * scheduler must hear at once, so a job holding one is requeued now and not when a replacement node becomes idle
   * (a node lost only through missed heartbeats has no other signal). Absent: the scheduler learns at its next pass.
   */
  nodesLeaving?(request: { resourceId: string; instanceIds: string[] }): Promise<void>;
  now(): Date;
}

export interface ReconcileResult {
  /** The resource is gone (deleted, or this lifecycle belonged to an earlier resource of the same name). */
  gone: boolean;
  /** Nothing left to do until something changes. */
  steady: boolean;
  /** Something was done: look again right away to see its effect. */
  acted: boolean;
  /** Look again at this time even if nothing happens (an idle node's grace period ends). */
  nextCheckAt?: string;
}

const FILE_SERVER_SCALE: ScaleSettings = { manual: { targetNodeCount: 1, nodeDeallocationOption: 'requeue' } };

export async function reconcileCompute(deps: ComputeDeps, input: ComputeLifecycleInput): Promise<ReconcileResult> {
  const parsed = parseBatchAiResourceId(input.resourceId);
  if (!parsed.ok) throw new Error(`not a resource id: ${input.resourceId}`);
  const id = parsed.value;
  const scaleSetName = scaleSetNameFor(input.kind, input.uid);
  const stored = await deps.store.get(id);
  const record = stored?.record as unknown as (ClusterRecord | FileServerRecord) | undefined;

  // Deleted (or replaced by a new resource of the same name): make sure nothing of ours is left behind.
  if (!record || record.uid !== input.uid) {
    await removeEverything(deps, scaleSetName);
    return { gone: true, steady: true, acted: false };
  }

  const deleting = record.provisioningState === 'deleting';
  // A resource that failed to provision (its VMs cannot be created) waits to be deleted; retrying would fail again.
  if (record.provisioningState === 'failed') return { gone: false, steady: true, acted: false };
  const isCluster = input.kind === 'cluster';
  const cluster = isCluster ? (record as ClusterRecord) : undefined;
  const scale = cluster ? cluster.properties.scaleSettings : FILE_SERVER_SCALE;
  const [scaleSet, nodes, demandNodes] = await Promise.all([
    deps.scaleSets.get(scaleSetName),
    deps.nodes.list(scaleSetName),
    cluster?.properties.scaleSettings.autoScale && !deleting
      ? deps.demand.nodesWanted(id as Extract<BatchAiResourceId, { kind: 'cluster' }>)
      : Promise.resolve(0),
  ]);
  const instances: ScaleSetInstance[] = scaleSet ? await deps.scaleSets.listInstances(scaleSetName) : [];
  const now = deps.now();
  const plan = planReconcile({
    now: now.toISOString(),
    deleting,
    scale,
    demandNodes,
    idleGraceMs: deps.idleGraceMs,
    scaleSet: { exists: scaleSet !== undefined, capacity: scaleSet?.capacity ?? 0 },
    instances: instances.map((i) => ({ instanceId: i.instanceId, healthy: isHealthyInstance(i) })),
    nodes,
    ...(cluster?.resizeFailedTarget !== undefined ? { failedTarget: cluster.resizeFailedTarget } : {}),
    // A file server is never replaced for silence: its VM holds the data (a VM event still counts).
    ...(isCluster && deps.heartbeats && deps.heartbeats.lostAfterMs > 0
      ? {
          heartbeats: {
            lostAfterMs: deps.heartbeats.lostAfterMs,
            watchingSince: deps.heartbeats.watchingSince.toISOString(),
          },
        }
      : {}),
  });

  if (deleting) {
    if (!plan.steady) {
      await removeEverything(deps, scaleSetName, nodes);
      return { gone: false, steady: false, acted: true };
    }
    await deps.store.delete(id);
    const deleteOperationId = (record as { deleteOperationId?: string }).deleteOperationId;
    if (deleteOperationId) await completeOperation(deps, deleteOperationId, { status: 'Succeeded' });
    // Deleted before it was ever steady: its create operation ends too, instead of running forever.
    await completeOperation(deps, input.operationId, {
      status: 'Canceled',
      error: { code: 'ResourceDeleted', message: `${input.resourceId} was deleted while it was being created` },
    });
    return { gone: true, steady: true, acted: true };
  }

  let computeError: BatchAiError | undefined;
  let fatal = false;
  let failedTarget: number | undefined;
  try {
    await act(deps, { input, record, scaleSetName, plan, nodes, now: now.toISOString() });
  } catch (err) {
    // Anything but ARM's considered refusal (a network failure, throttling, a server error) is retried by the
    // activity's retry policy instead of being shown as the cluster's error.
    if (!(err instanceof ComputeError) || err.transient) throw err;
    const kind = classifyComputeError(err.code, err.message);
    const target = plan.createScaleSet?.capacity ?? plan.capacity ?? plan.target;
    computeError = computeClusterError(kind === 'setupFailed' || kind === 'nodeLost' ? 'allocation' : kind, {
      code: err.code,
      message: err.message,
      lowPriority: cluster?.properties.vmPriority === 'lowpriority',
      target,
    });
    // A bad image (or a definition ARM refuses) fails the resource; quota and allocation failures are resize
    // errors: the cluster stays usable at the size it has, and the error is shown until a new target succeeds.
    fatal = (kind === 'badImage' || kind === 'badDefinition') && plan.createScaleSet !== undefined;
    failedTarget = target;
  }

  const acted =
    computeError === undefined &&
    (plan.createScaleSet !== undefined ||
      plan.capacity !== undefined ||
      plan.deleteInstances.length > 0 ||
      plan.createNodes.length > 0 ||
      plan.deleteNodes.length > 0);
  const steady = computeError !== undefined || plan.steady;
  await writeStatus(deps, {
    id,
    input,
    steady,
    fatal,
    computeError,
    failedTarget,
    target: plan.target,
    nodes,
    scaleSetName,
    // Nodes still running jobs the resize released: nothing to do until they are given back, yet still resizing.
    releasing: plan.releaseRunning.length > 0,
  });
  return { gone: false, steady, acted, ...(plan.nextCheckAt ? { nextCheckAt: plan.nextCheckAt } : {}) };
}

async function act(
  deps: ComputeDeps,
  ctx: {
    input: ComputeLifecycleInput;
    record: ClusterRecord | FileServerRecord;
    scaleSetName: string;
    plan: ReconcilePlan;
    nodes: readonly StoredNode[];
    now: string;
  },
): Promise<void> {
  const { plan, scaleSetName, now } = ctx;
  if (plan.createScaleSet) {
    await Promise.all(plan.deleteNodes.map((instanceId) => dropNode(deps, scaleSetName, instanceId)));
    await deps.scaleSets.createOrUpdate(
      scaleSetName,
      buildScaleSet(
        scaleSetSpec(deps, ctx.input, ctx.record, scaleSetName, plan.createScaleSet.capacity),
        deps.scaleSetSettings,
      ),
    );
    return;
  }
  // Going nodes are `leaving` first, so the API shows them leaving while their VMs are deleted.
  // Node documents are independent (one per node), so they are written concurrently.
  const going = new Set(plan.deleteInstances);
  await Promise.all(
    ctx.nodes
      .filter((node) => going.has(node.instanceId) && node.state !== 'unusable')
      .map((node) =>
        deps.nodes.update(scaleSetName, node.instanceId, (current) =>
          current && current.state !== 'leaving' ? withNodeState(current, 'leaving', now) : undefined,
        ),
      ),
  );
  // Before the VMs are deleted (minutes on Azure): the jobs on them are requeued while ARM works.
  if (plan.deleteInstances.length > 0 && deps.nodesLeaving && ctx.input.kind === 'cluster') {
    await deps.nodesLeaving({ resourceId: ctx.input.resourceId, instanceIds: plan.deleteInstances });
  }
  await deleteInstances(deps, scaleSetName, plan.deleteInstances);
  await Promise.all(plan.deleteNodes.map((instanceId) => dropNode(deps, scaleSetName, instanceId)));
  await Promise.all(
    plan.createNodes.map((instanceId) =>
      deps.nodes.update(scaleSetName, instanceId, (current) =>
        current
          ? undefined
          : {
              scaleSetName,
              instanceId,
              resourceId: ctx.input.resourceId,
              state: 'preparing',
              stateSince: now,
              createdAt: now,
            },
      ),
    ),
  );
  if (plan.capacity !== undefined) await deps.scaleSets.setCapacity(scaleSetName, plan.capacity);
  if (plan.releaseRunning.length > 0 && deps.releaseNodes && ctx.input.kind === 'cluster') {
    await deps.releaseNodes({
      resourceId: ctx.input.resourceId,
      scaleSetName,
      instanceIds: plan.releaseRunning,
      option: (ctx.record as ClusterRecord).properties.scaleSettings.manual?.nodeDeallocationOption ?? 'requeue',
    });
  }
}

/**
 * Deletes instances, some of which may vanish meanwhile (a Spot eviction with the Delete policy ends after its
 * notice, which already marked the node lost). ARM then refuses the whole call ("… is not an active Virtual Machine
 * Scale Set VM instanceId"), which is not the definition's fault: delete what is still there instead.
 */
async function deleteInstances(deps: ComputeDeps, scaleSetName: string, instanceIds: readonly string[]) {
  try {
    await deps.scaleSets.deleteInstances(scaleSetName, instanceIds);
  } catch (err) {
    if (!(err instanceof ComputeError) || !/not an active Virtual Machine Scale Set VM/i.test(err.message)) throw err;
    const present = new Set((await deps.scaleSets.listInstances(scaleSetName)).map((i) => i.instanceId));
    await deps.scaleSets.deleteInstances(
      scaleSetName,
      instanceIds.filter((id) => present.has(id)),
    );
  }
}

function scaleSetSpec(
  deps: ComputeDeps,
  input: ComputeLifecycleInput,
  record: ClusterRecord | FileServerRecord,
  scaleSetName: string,
  capacity: number,
): ScaleSetSpec {
  if (input.kind === 'cluster') {
    const p = (record as ClusterRecord).properties;
    return {
      role: 'clusterNode',
      resourceId: input.resourceId,
      scaleSetName,
      vmSize: p.vmSize,
      capacity,
      lowPriority: p.vmPriority === 'lowpriority',
      ...(p.virtualMachineConfiguration?.imageReference
        ? { imageReference: p.virtualMachineConfiguration.imageReference }
        : {}),
      ...(p.subnet ? { subnetId: p.subnet.id } : {}),
      admin: openAdmin(deps.secrets, p.userAccountSettings),
    };
  }
  const p = (record as FileServerRecord).properties;
  return {
    role: 'fileServer',
    resourceId: input.resourceId,
    scaleSetName,
    vmSize: p.vmSize,
    capacity,
    lowPriority: false,
    ...(p.subnet ? { subnetId: p.subnet.id } : {}),
    admin: openAdmin(deps.secrets, p.sshConfiguration.userAccountSettings),
    fileServer: { exportPath: fileServerExportPath(scaleSetName), dataDisks: p.dataDisks },
  };
}

/** The admin account as Azure needs it; the password is opened here, for this one call, and never logged. */
function openAdmin(
  secrets: SecretBox,
  account: { adminUserName: string; adminUserPassword?: string; adminUserSshPublicKey?: string },
) {
  return {
    adminUserName: account.adminUserName,
    ...(account.adminUserPassword ? { adminUserPassword: secrets.openAll(account).adminUserPassword! } : {}),
    ...(account.adminUserSshPublicKey ? { adminUserSshPublicKey: account.adminUserSshPublicKey } : {}),
  };
}

async function dropNode(deps: ComputeDeps, scaleSetName: string, instanceId: string): Promise<void> {
  await deps.nodes.delete(scaleSetName, instanceId);
  await deps.commands.dropQueue(scaleSetName, instanceId);
}

async function removeEverything(deps: ComputeDeps, scaleSetName: string, known?: readonly NodeRecord[]) {
  await deps.scaleSets.delete(scaleSetName);
  const nodes = known ?? (await deps.nodes.list(scaleSetName));
  await Promise.all(nodes.map((node) => dropNode(deps, scaleSetName, node.instanceId)));
}

async function writeStatus(
  deps: ComputeDeps,
  s: {
    id: BatchAiResourceId;
    input: ComputeLifecycleInput;
    steady: boolean;
    fatal: boolean;
    computeError: BatchAiError | undefined;
    failedTarget: number | undefined;
    target: number;
    nodes: readonly StoredNode[];
    scaleSetName: string;
    releasing: boolean;
  },
): Promise<void> {
  const now = deps.now().toISOString();
  let completeAs: 'Succeeded' | 'Failed' | undefined;
  const updated = await deps.store.update(s.id, (current) => {
    const record = current.record as Record<string, unknown>;
    if (record['uid'] !== s.input.uid || record['provisioningState'] === 'deleting') return undefined;
    const next: Record<string, unknown> = { ...record };
    const nodeErrors = s.nodes
      .filter((n) => n.state === 'unusable' && n.unusableReason === 'setupFailed' && n.error)
      .slice(0, 10)
      .map((n) => nodeSetupError(nodeIdOf(n.scaleSetName, n.instanceId), n.error!));
    const previousCompute = ((record['errors'] as BatchAiError[] | undefined) ?? []).filter(
      (e) => !e.details?.some((d) => d.name === 'NodeId'),
    );
    // A compute error stays until a pass succeeds at the size it failed for (or the target moves on).
    const keptCompute =
      s.computeError !== undefined
        ? [s.computeError]
        : record['resizeFailedTarget'] === s.target
          ? previousCompute
          : [];
    const errors = [...keptCompute, ...nodeErrors];
    if (errors.length > 0) next['errors'] = errors;
    else delete next['errors'];
    if (s.failedTarget !== undefined) next['resizeFailedTarget'] = s.failedTarget;
    else if (record['resizeFailedTarget'] !== s.target) delete next['resizeFailedTarget'];

    if (s.input.kind === 'cluster') {
      const allocationState = s.steady && !s.releasing ? 'steady' : 'resizing';
      if (record['allocationState'] !== allocationState) {
        next['allocationState'] = allocationState;
        next['allocationStateTransitionTime'] = now;
      }
      if (record['provisioningState'] === 'creating' && (s.steady || s.fatal)) {
        next['provisioningState'] = s.fatal ? 'failed' : 'succeeded';
        next['provisioningStateTransitionTime'] = now;
        completeAs = s.fatal ? 'Failed' : 'Succeeded';
      }
    } else {
      const server = s.nodes.find((n) => n.state === 'idle' && n.ipAddress);
      if (server && record['provisioningState'] === 'creating') {
        next['mountSettings'] = {
          mountPoint: fileServerExportPath(s.scaleSetName),
          fileServerInternalIP: server.ipAddress,
          fileServerPublicIP: server.ipAddress,
        };
        next['provisioningState'] = 'succeeded';
        next['provisioningStateTransitionTime'] = now;
        completeAs = 'Succeeded';
      } else if (s.fatal && record['provisioningState'] === 'creating') {
        next['provisioningState'] = 'failed';
        next['provisioningStateTransitionTime'] = now;
        completeAs = 'Failed';
      }
    }
    if (JSON.stringify(next) === JSON.stringify(record)) return undefined;
    return { ...current, record: next, updatedAt: now };
  });
  // Completed after the record is written, and again on every later pass until it is (a crash in between must
  // not leave the PUT's operation running forever); completing is idempotent.
  const state = updated?.record['provisioningState'];
  if (state === 'succeeded' || state === 'failed' || completeAs) {
    const failed = state === 'failed' || completeAs === 'Failed';
    const error = (updated?.record['errors'] as BatchAiError[] | undefined)?.[0] ?? s.computeError;
    await completeOperation(
      deps,
      s.input.operationId,
      failed
        ? {
            status: 'Failed',
            error: { code: error?.code ?? 'ProvisioningFailed', message: error?.message ?? 'provisioning failed' },
          }
        : { status: 'Succeeded' },
    );
  }
}
