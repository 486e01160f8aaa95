import type { ScaleSettings } from './cluster-schema.js';
import type { NodeRecord } from './nodes.js';

// The decision at the heart of a cluster's (or file server's) lifecycle: compare what should be (scale settings,
// demand, deletion) with what is (the scale set's instances and the node documents) and say what to do. Pure and
// level-triggered: the lifecycle calls it on start and after every change it hears of, acts on the plan, and
// calls it again until nothing is left to do.

export interface ScaleSetInstanceView {
  instanceId: string;
  /** False once the VM is gone for good: deallocated (evicted), failed provisioning, or stopped by the platform. */
  healthy: boolean;
}

export interface ReconcileView {
  now: string;
  deleting: boolean;
  scale: ScaleSettings;
  /** Nodes wanted by queued and running jobs targeting the cluster (autoscale). */
  demandNodes: number;
  /** Autoscale removes a node only after it has been idle this long. */
  idleGraceMs: number;
  scaleSet: { exists: boolean; capacity: number };
  instances: readonly ScaleSetInstanceView[];
  nodes: readonly (NodeRecord & { lastSeen?: string })[];
  /**
   * Missed heartbeats: a registered node not heard from for this long is lost (the backup signal when no VM
   * event came). Silence is counted from `watchingSince` at the earliest (when the app started watching), so nodes
   * of a stack that was down are not declared lost before they had a chance to report again.
   */
  heartbeats?: { lostAfterMs: number; watchingSince: string };
  /** A scale-out to this size failed (quota): not retried until the target changes. */
  failedTarget?: number;
}

export interface ReconcilePlan {
  /** The node count the settings and demand ask for now. */
  target: number;
  createScaleSet?: { capacity: number };
  deleteScaleSet: boolean;
  /** Instances to delete (lost ones first, then surplus), in one `delete instances` call. */
  deleteInstances: string[];
  /** The scale set's capacity after the deletions, when it must change (scale out, or refill after a loss). */
  capacity?: number;
  /** Instances with no node document yet: recorded as preparing so counts are right before the agent registers. */
  createNodes: string[];
  /** Node documents whose instance is gone (or going). */
  deleteNodes: string[];
  /** Nothing to do now: the node set is what it should be (or as close as the rules allow). */
  steady: boolean;
  /** When to look again even if nothing happens (an idle node's grace period ends). */
  nextCheckAt?: string;
  /**
   * Surplus nodes that run jobs: to be released through their jobs' lifecycles (nodeDeallocationOption). While
   * there are any the cluster is still resizing, though nothing is left to do until those jobs give the nodes back.
   */
  releaseRunning: string[];
}

/** The node count wanted now: the manual target, or autoscale's demand kept between minimum and maximum. */
export function targetNodeCount(scale: ScaleSettings, demandNodes: number): number {
  if (scale.manual) return scale.manual.targetNodeCount;
  const auto = scale.autoScale!;
  return Math.min(auto.maximumNodeCount, Math.max(auto.minimumNodeCount, demandNodes));
}

const byInstanceId = (a: string, b: string) => Number(a) - Number(b) || a.localeCompare(b);

export function planReconcile(view: ReconcileView): ReconcilePlan {
  const plan: ReconcilePlan = {
    target: targetNodeCount(view.scale, view.demandNodes),
    deleteScaleSet: false,
    deleteInstances: [],
    createNodes: [],
    deleteNodes: [],
    steady: false,
    releaseRunning: [],
  };

  if (view.deleting) {
    plan.target = 0;
    plan.deleteScaleSet = view.scaleSet.exists;
    plan.deleteNodes = view.nodes.map((n) => n.instanceId);
    plan.steady = !view.scaleSet.exists && view.nodes.length === 0;
    return plan;
  }

  if (!view.scaleSet.exists) {
    const initial = view.scale.autoScale ? Math.max(view.scale.autoScale.initialNodeCount, plan.target) : plan.target;
    plan.createScaleSet = { capacity: initial === view.failedTarget ? 0 : initial };
    if (plan.createScaleSet.capacity === 0 && initial !== 0) plan.steady = true;
    plan.deleteNodes = view.nodes.map((n) => n.instanceId);
    return plan;
  }

  const instances = new Map(view.instances.map((i) => [i.instanceId, i]));
  const nodes = new Map(view.nodes.map((n) => [n.instanceId, n]));

  for (const node of view.nodes) if (!instances.has(node.instanceId)) plan.deleteNodes.push(node.instanceId);

  // Lost: the VM is gone (evicted, crashed, failed) or its node was declared lost. Deleted and replaced.
  const lost: string[] = [];
  const kept: NodeRecord[] = [];
  // Leaving: given back by a job for removal (a resize released it). It is removed even if the target grew back
  // meanwhile (a new node replaces it), so a node never stays `leaving`, out of every job's reach, for good.
  const leaving: string[] = [];
  let nextCheck: number | undefined;
  const now = Date.parse(view.now);
  const checkAt = (due: number) => {
    nextCheck = nextCheck === undefined ? due : Math.min(nextCheck, due);
  };
  const silent = (node: (typeof view.nodes)[number] | undefined): boolean => {
    if (!view.heartbeats || node?.state === 'unusable' || node?.state === 'leaving') return false;
    // Not registered yet: nothing to time, but look again in one loss window, when it will have a heartbeat.
    if (!node?.bootId) {
      checkAt(now + view.heartbeats.lostAfterMs);
      return false;
    }
    const heard = Math.max(Date.parse(node.lastSeen ?? node.stateSince), Date.parse(view.heartbeats.watchingSince));
    const due = heard + view.heartbeats.lostAfterMs;
    if (due <= now) return true;
    checkAt(due);
    return false;
  };
  for (const instance of [...view.instances].sort((a, b) => byInstanceId(a.instanceId, b.instanceId))) {
    const node = nodes.get(instance.instanceId);
    if (!node) plan.createNodes.push(instance.instanceId);
    const isLost = !instance.healthy || (node?.state === 'unusable' && node.unusableReason === 'lost') || silent(node);
    if (isLost) {
      lost.push(instance.instanceId);
      if (node) plan.deleteNodes.push(instance.instanceId);
      continue;
    }
    if (node?.state === 'leaving') {
      leaving.push(instance.instanceId);
      continue;
    }
    kept.push(node ?? preparingPlaceholder(instance.instanceId));
  }

  // Surplus: remove what the rules allow, cheapest first (broken, then booting, then the longest idle, then running).
  const surplus = kept.length - plan.target;
  const victims: string[] = [...leaving];
  if (surplus > 0) {
    const autoscale = view.scale.autoScale !== undefined;
    const rank = (n: NodeRecord) =>
      n.state === 'unusable' ? 0 : n.state === 'preparing' ? 1 : n.state === 'idle' ? 2 : 3;
    const candidates = [...kept].sort(
      (a, b) =>
        rank(a) - rank(b) ||
        Date.parse(a.idleSince ?? a.stateSince) - Date.parse(b.idleSince ?? b.stateSince) ||
        byInstanceId(a.instanceId, b.instanceId),
    );
    for (const node of candidates) {
      // A running node asked to be released counts towards the surplus: releasing more would shrink below target.
      if (victims.length - leaving.length + plan.releaseRunning.length >= surplus) break;
      if (node.state === 'running') {
        plan.releaseRunning.push(node.instanceId);
        continue;
      }
      if (autoscale && (node.state === 'idle' || node.state === 'preparing')) {
        // Autoscale never removes a node that may be needed again soon: only one idle past the grace period.
        const idleFor = node.state === 'idle' ? now - Date.parse(node.idleSince ?? node.stateSince) : -1;
        if (idleFor < view.idleGraceMs) {
          if (node.state === 'idle') checkAt(Date.parse(node.idleSince ?? node.stateSince) + view.idleGraceMs);
          continue;
        }
      }
      victims.push(node.instanceId);
    }
  }

  plan.deleteInstances = [...lost, ...victims];
  plan.deleteNodes = [...new Set([...plan.deleteNodes, ...victims])];
  const remaining = kept.length + leaving.length - victims.length;
  let wanted = Math.max(plan.target, remaining);
  // A scale-out that failed for quota is not retried until the target changes.
  if (wanted > remaining && wanted === view.failedTarget) wanted = remaining;
  const capacityAfterDeletes = view.scaleSet.capacity - plan.deleteInstances.length;
  if (wanted !== capacityAfterDeletes || view.instances.length - plan.deleteInstances.length !== wanted) {
    plan.capacity = wanted;
  }
  plan.steady =
    plan.deleteInstances.length === 0 &&
    plan.capacity === undefined &&
    plan.createNodes.length === 0 &&
    plan.deleteNodes.length === 0;
  if (nextCheck !== undefined) plan.nextCheckAt = new Date(nextCheck).toISOString();
  return plan;
}

function preparingPlaceholder(instanceId: string): NodeRecord {
  return {
    scaleSetName: '',
    instanceId,
    resourceId: '',
    state: 'preparing',
    stateSince: new Date(0).toISOString(),
    createdAt: new Date(0).toISOString(),
  };
}
