import { nodeIdOf, scaleSetNameFor } from '../domain/agent-protocol.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import { type NodeRecord, withNodeState } from '../domain/nodes.js';
import { parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import {
  type Allocation,
  enqueue,
  type QueuedJob,
  release,
  type SchedulerNode,
  type StagedJob,
  schedulePass,
} from '../domain/scheduling.js';
import {
  addStaged,
  cancelStaged,
  holdUntilStopped,
  markUnstageable,
  type StageCandidate,
  stagingPass,
  withdrawStaged,
} from '../domain/staging.js';
import { markNodesIdle, splitNodeId } from './job-records.js';
import { allocatedEvent, JOB_EVENTS, type JobRunDeps, type NodeLostEvent } from './job-run-deps.js';
import { type KnownForLaunch, type LaunchResult, launchJobAttempt } from './launch-job-attempt.js';
import { PassBatches } from './pass-batches.js';
import { forEachLimited, retellAllocation, ToldAllocations } from './retell-allocations.js';
import { promoteStagedAttempt, stageJobAttempt, unstageJobAttempt } from './stage-job-attempt.js';

// One scheduling pass of one cluster: read the cluster's nodes, plan and apply under If-Match on the schedule
// document, mark the given nodes running (so the cluster's nodeStateCounts show them), and tell each started job
// which nodes it got. Allocations holding a node that is gone, rebooted or unusable are reported to their job as
// lost, once per pass until the job releases them.
// Passes run from the cluster's scheduler orchestration and, directly, from the end of each job (finish-job.ts)
// and from each job's entry into the queue (enqueue-job.ts),
// so two may run at once: the If-Match update recomputes a pass on what it replaces, so a node is only ever given
// by the one write that holds it (`started` comes from the attempt that was written), and a node seen in a
// stale state is confirmed by a fresh read before its job is told it was lost.
// A pass run by a job's end also gives that job's nodes back in the same document write (`finishing`): its nodes
// count as idle for the plan, the ones handed on stay marked running, and only the others are marked idle after.
// Any node marked running that the document does not hold counts as idle for the plan: its idle mark is pending.

export interface SchedulePassResult {
  started: number;
  lost: number;
  queued: number;
  /** The cluster is gone or being deleted: its scheduler closes the schedule and ends. */
  gone?: true;
  /** With `finishing`: the finished job's nodes this pass did not hand on (marked idle again). */
  idled?: number;
  /** With `finishing`: false when the pass could not run (no cluster), so nothing was given back. */
  finished?: boolean;
  /** Whether the cluster scales automatically (a job's end changes its demand then). */
  autoScale?: boolean;
}

/** The scale set of each cluster seen by a pass in this process, newest last. */
const scaleSetNames = new Map<string, string>();
const MAX_REMEMBERED_CLUSTERS = 1000;

export interface Finishing {
  jobId: string;
  /**
   * How it ended: `succeeded` means every task exited on its own, so the agent has started whatever was staged
   * behind it; after any other end a promoted staged job is also told to start (`startStaged`). A job promoted from
   * staging and then terminated (possibly before its lifecycle heard it had started, so nothing stopped it) keeps
   * its node held until the agent says its task is stopped.
   */
  outcome?: 'succeeded' | 'failed' | 'terminated';
}

/** What one pass does besides scheduling: jobs ending (their nodes given back) and jobs entering the queue. */
export interface PassRequest {
  finishing?: Finishing;
  /** A job entering the queue: added in the pass's own document write, so it may start (or be staged) at once. */
  enqueueing?: QueuedJob;
}

/**
 * One scheduling pass of a cluster, run together with the other passes asked of the same cluster in this process
 * meanwhile (pass-batches.ts): one pass at a time per cluster and process, each covering every job that ended or
 * entered the queue while the previous one ran. Under a burst that is one document write for many jobs instead of
 * a race of many writes on one document, each retried on every conflict.
 */
export function scheduleCluster(
  deps: JobRunDeps,
  clusterId: string,
  finishing?: Finishing,
  enqueueing?: QueuedJob,
): Promise<SchedulePassResult> {
  return passBatches.run(
    clusterId.toLowerCase(),
    { ...(finishing ? { finishing } : {}), ...(enqueueing ? { enqueueing } : {}) },
    (batch) => runPass(deps, clusterId, batch),
  );
}

const passBatches = new PassBatches<PassRequest, SchedulePassResult>();
/** The allocations this process has told their jobs about (retell-allocations.ts). */
const told = new ToldAllocations();

async function runPass(
  deps: JobRunDeps,
  clusterId: string,
  batch: readonly PassRequest[],
): Promise<SchedulePassResult> {
  const finishingJobs = batch.flatMap((r) => (r.finishing ? [r.finishing] : []));
  const enqueueing = batch.flatMap((r) => (r.enqueueing ? [r.enqueueing] : []));
  const finishing = finishingJobs.length > 0;
  const parsed = parseBatchAiResourceIdOf('cluster', clusterId);
  if (!parsed.ok) throw new Error(`not a cluster id: ${clusterId}`);
  // The node list is read alongside the cluster under the scale set this cluster had last time (a cluster's uid
  // only changes if it is deleted and made again, and then the list is read again under the new one).
  const key = clusterId.toLowerCase();
  const guess = scaleSetNames.get(key);
  const [stored, guessed] = await Promise.all([
    deps.store.get(parsed.value),
    guess ? deps.nodes.list(guess) : undefined,
  ]);
  const cluster = stored?.record as unknown as ClusterRecord | undefined;
  const now = deps.now().toISOString();
  if (!cluster?.uid || cluster.provisioningState === 'deleting') {
    // No nodes will ever come: the scheduler fails what is left (close-cluster-schedule.ts) and ends.
    return { started: 0, lost: 0, queued: 0, gone: true, ...(finishing ? { finished: false } : {}) };
  }
  const scaleSetName = scaleSetNameFor('cluster', cluster.uid);
  scaleSetNames.delete(key);
  scaleSetNames.set(key, scaleSetName);
  if (scaleSetNames.size > MAX_REMEMBERED_CLUSTERS) scaleSetNames.delete(scaleSetNames.keys().next().value!);
  const records = guessed && guess === scaleSetName ? guessed : await deps.nodes.list(scaleSetName);
  const byId = new Map(records.map((n) => [nodeIdOf(n.scaleSetName, n.instanceId), n]));
  const nodes: SchedulerNode[] = records.map((n) => ({
    nodeId: nodeIdOf(n.scaleSetName, n.instanceId),
    ...(n.bootId ? { bootId: n.bootId } : {}),
    // Only a registered node (one we can seal secrets for) whose agent is not stopping is schedulable. A node a
    // resize asked back (releaseRequested) is leaving: when its job ends it is never handed on, even by this pass.
    state: n.releaseRequested
      ? 'leaving'
      : n.state === 'idle' && (!(n.bootId && n.publicKey) || n.stoppingSince)
        ? 'preparing'
        : n.state,
  }));
  const { doc, result } = await deps.schedules.update(clusterId, (current) => {
    let base = current;
    for (const job of enqueueing) base = enqueue(base, job);
    const freed = new Set<string>();
    const cancelled: StagedJob[] = [];
    for (const ending of finishingJobs) {
      const jobKey = ending.jobId.toLowerCase();
      const mine = [...base.allocations, ...base.queue].filter((e) => e.jobId.toLowerCase() === jobKey);
      const held = base.allocations.filter((a) => a.jobId.toLowerCase() === jobKey);
      for (const id of held.flatMap((a) => a.nodeIds)) freed.add(id);
      for (const e of mine) base = release(base, e.jobId);
      // Promoted from staging and ended otherwise than by its tasks' exits: it may be running unbeknown to its
      // lifecycle (terminated before it heard it started), so its node stays held until the agent has stopped it.
      const holds = ending.outcome === 'terminated' ? held.filter((a) => a.fromStaging !== undefined) : [];
      for (const a of holds) for (const id of a.nodeIds) freed.delete(id);
      const cancelling = cancelStaged(base, ending.jobId);
      base = holdUntilStopped(cancelling.doc, holds);
      cancelled.push(
        ...cancelling.cancelled,
        ...(base.staged ?? []).filter((x) => x.revoke === 'cancel' && holds.some((a) => a.jobId === x.jobId)),
      );
    }
    // The document, not the node state, says who holds a node: one marked running that no allocation holds was
    // given back and its idle mark is still to come (this pass's own finished job, or another pass's).
    const held = new Set([...base.allocations.flatMap((a) => a.nodeIds), ...(base.staged ?? []).map((x) => x.nodeId)]);
    const planned = nodes.map((n) =>
      n.state === 'running' && !held.has(n.nodeId) ? { ...n, state: 'idle' as const } : n,
    );
    const pass = schedulePass(base, planned, now);
    const staging = stagingPass(pass.doc, planned, now);
    return {
      doc: staging.doc,
      result: {
        started: pass.started,
        freed,
        cancelled,
        promoted: staging.promoted,
        revoked: staging.revoked,
        candidates: staging.candidates,
      },
    };
  });
  const { started, freed, cancelled, promoted, revoked, candidates } = result;
  const handedOn = new Set([...started, ...promoted.map((p) => p.allocation)].flatMap((a) => a.nodeIds));
  const idling = [...freed].filter((id) => !handedOn.has(id));

  // Nodes are marked running after the document holds them: the document, not the node state, decides who
  // holds a node, so a pass between the two writes cannot give them away. For the same reason the started jobs'
  // launches need not wait for those writes: they go out at the same time.
  // A finished job's node handed straight on is running already (as the node list says): no write at all.
  const markRunning = (a: Allocation) =>
    Promise.all(
      a.nodeIds
        // A promoted job's node may be gone (it is reported lost below): nothing to mark.
        .filter((nodeId) => byId.has(nodeId) && (!freed.has(nodeId) || byId.get(nodeId)?.state !== 'running'))
        .map((nodeId) => {
          const node = byId.get(nodeId)!;
          return deps.nodes.update(node.scaleSetName, node.instanceId, (current) =>
            current && current.state === 'idle' ? withNodeState(current, 'running', now) : undefined,
          );
        }),
    ).then(() => undefined);
  const marking = Promise.all([
    ...[...started, ...promoted.map((p) => p.allocation)].map(markRunning),
    idleUnlessHeld(deps, clusterId, idling),
  ]);
  // Allocations of the document this process never told their job about (a pass that stopped before telling): told
  // now if their lifecycle may still wait for them. One that cannot be checked stays untold for the next pass.
  const retelling = forEachLimited(
    told.untold(key, doc.allocations, [...started, ...promoted.map((p) => p.allocation)], Date.parse(now)),
    (a) =>
      retellAllocation(deps, a, markRunning).then(
        () => told.add(key, a),
        () => undefined,
      ),
  );
  // Each started job's first phase is launched here, so its processes start without waiting for one more
  // orchestration episode; a launch that throws is left to the job's lifecycle (command ids make a repeat harmless).
  const launching = Promise.all(
    started.map((a) =>
      launchJobAttempt(
        deps,
        { jobId: a.jobId, attempt: a.attempt, nodeIds: a.nodeIds, phase: 'first' },
        { cluster, nodes: byId },
      ).catch(() => undefined),
    ),
  );
  // A promoted job may have run on its node for a while already: it is marked running and its lifecycle told.
  // No `startStaged` is needed behind a job that succeeded (every task of it exited, so its agent started what
  // was staged behind it).
  const succeeded = new Set(finishingJobs.filter((f) => f.outcome === 'succeeded').map((f) => f.jobId.toLowerCase()));
  const promoting = Promise.all(
    promoted.map(({ staged }) =>
      promoteStagedAttempt(deps, staged, { start: !succeeded.has(staged.behind.jobId.toLowerCase()) }).catch(
        () => undefined,
      ),
    ),
  );
  const asking = Promise.all([
    ...revoked.map((x) => unstageJobAttempt(deps, x, false).catch(() => undefined)),
    ...cancelled.map((x) => unstageJobAttempt(deps, x, true).catch(() => undefined)),
  ]);
  // The jobs to send ahead are built alongside the rest, once the launches say which tasks the jobs started here
  // run on their nodes (a promoted job's are known from its staging): the staging of a node's next job is what a
  // short job's turnover waits for, so it does not queue behind the allocated events.
  const staging =
    candidates.length > 0
      ? launching.then((launchedNow) =>
          stageCandidates(
            deps,
            clusterId,
            candidates,
            { cluster, nodes: byId },
            now,
            knownRunTasks(started, launchedNow, promoted),
          ).catch(() => undefined),
        )
      : undefined;
  const [, launched, lost, promotedLaunches] = await Promise.all([
    marking,
    launching,
    confirmLost(
      deps,
      doc.allocations.flatMap((a) => lostNodes(a, byId)),
      doc.allocations,
      byId,
    ),
    promoting,
    asking,
  ]);
  // Remembered as told once the event is raised: a raise that fails leaves it for the next pass to tell again.
  const tell = (a: Allocation, launch: unknown) =>
    deps.signals.jobEvent(a.jobId, JOB_EVENTS.allocated, allocatedEvent(a, launch)).then(() => told.add(key, a));
  await Promise.all([
    ...started.map((a, i) => tell(a, launched[i])),
    ...promoted.map(({ allocation }, i) => tell(allocation, promotedLaunches[i])),
    ...lost.map((l) => deps.signals.jobEvent(l.jobId, JOB_EVENTS.nodeLost, l)),
    retelling,
  ]);
  await staging;
  return {
    started: started.length,
    lost: lost.length,
    queued: doc.queue.length,
    ...(finishing ? { idled: idling.length, finished: true } : {}),
    autoScale: cluster.properties.scaleSettings.autoScale !== undefined,
  };
}

/**
 * The finished job's nodes that this pass did not hand on are marked idle, unless a concurrent pass gave them to a
 * job meanwhile (it counts them as free from its document write on, before this mark lands).
 */
async function idleUnlessHeld(deps: JobRunDeps, clusterId: string, nodeIds: string[]): Promise<void> {
  if (nodeIds.length === 0) return;
  const held = new Set((await deps.schedules.read(clusterId)).allocations.flatMap((a) => a.nodeIds));
  await markNodesIdle(
    deps,
    nodeIds.filter((id) => !held.has(id)),
  );
}

/**
 * The node list was read before the document: another pass may have given a node that registered meanwhile (its
 * list entry still says preparing). Only what a fresh read of the node still shows as lost is reported.
 */
async function confirmLost(
  deps: JobRunDeps,
  candidates: NodeLostEvent[],
  allocations: readonly Allocation[],
  byId: Map<string, { scaleSetName: string; instanceId: string }>,
): Promise<NodeLostEvent[]> {
  if (candidates.length === 0) return candidates;
  const fresh = await Promise.all(
    candidates.map(async (l) => {
      const known = byId.get(l.nodeId);
      if (!known) return l;
      const node = await deps.nodes.get(known.scaleSetName, known.instanceId);
      const now = new Map(node ? [[l.nodeId, node]] : []);
      const a = allocations.find((x) => x.jobId === l.jobId && x.attempt === l.attempt);
      return a ? lostNodes({ ...a, nodeIds: [l.nodeId] }, now)[0] : undefined;
    }),
  );
  return fresh.filter((l): l is NodeLostEvent => l !== undefined);
}

function lostNodes(
  a: Pick<Allocation, 'jobId' | 'attempt' | 'nodeIds' | 'startedAt' | 'fromStaging'>,
  byId: Map<
    string,
    Pick<NodeRecord, 'state' | 'stateSince' | 'stoppingSince' | 'unusableReason' | 'lostBecause' | 'bootAt' | 'bootId'>
  >,
): NodeLostEvent[] {
  for (const nodeId of a.nodeIds) {
    const node = byId.get(nodeId);
    if (!node) return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: 'the node is gone' }];
    // Staged on a boot that is gone: whatever it ran there died with that boot (its command with it).
    if (a.fromStaging && node.bootId !== a.fromStaging.bootId) {
      const cause = node.lostBecause ? { cause: node.lostBecause } : {};
      return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: 'the node restarted under the job', ...cause }];
    }
    if (node.state === 'unusable' || node.state === 'leaving' || node.state === 'preparing') {
      const cause = node.lostBecause
        ? { cause: node.lostBecause }
        : node.state === 'unusable' && node.unusableReason === 'lost'
          ? { causePending: true as const }
          : {};
      return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: `the node is ${node.state}`, ...cause }];
    }
    // A held node idle since the allocation, whose current boot registered after it, rebooted under the job (a new
    // boot registered and was set up again, e.g. every VM restarted with the compute service): the job's processes
    // died with the old boot. The boot time matters: a late idle mark of the node's previous job (its release races
    // a pass that hands the node straight on) also leaves a held node idle, and that job is alive.
    const startedAt = Date.parse(a.startedAt);
    if (
      node.state === 'idle' &&
      Date.parse(node.stateSince) > startedAt &&
      (node.bootAt === undefined || Date.parse(node.bootAt) > startedAt)
    ) {
      return [{ jobId: a.jobId, attempt: a.attempt, nodeId, reason: 'the node restarted under the job' }];
    }
    // Its agent stopped (and stopped the job's processes with it), e.g. the compute emulator went away: waiting for
    // the next boot to register can take longer than the job's grace for a task killed by a signal. A Spot eviction
    // stops the agent too, and its Preempt event may come a moment later through Event Grid: the cause is pending,
    // so the job waits briefly for it and counts the loss as a preemption rather than a capped NodeLost.
    if (node.stoppingSince) {
      return [
        { jobId: a.jobId, attempt: a.attempt, nodeId, reason: "the node's agent stopped", causePending: true as const },
      ];
    }
  }
  return [];
}

/** Builds and sends the staged jobs' commands, after recording them in the document (what the agent may run). */
/**
 * The run-phase task ids, by `<job>\n<attempt>\n<node>`, of the jobs this pass started (from their launch, when it
 * launched their run) and promoted (from their staging, when they were staged with their run): what a job staged
 * behind one of them waits for, without reading its record.
 */
function knownRunTasks(
  started: readonly Allocation[],
  launched: ReadonlyArray<LaunchResult | undefined>,
  promoted: ReadonlyArray<{ allocation: Allocation; staged: StagedJob }>,
): Map<string, string[]> {
  const known = new Map<string, string[]>();
  const add = (jobId: string, attempt: number, nodeId: string, taskId: string) => {
    const key = `${jobId}\n${attempt}\n${nodeId}`;
    known.set(key, [...(known.get(key) ?? []), taskId]);
  };
  started.forEach((a, i) => {
    const l = launched[i];
    if (l?.ok && l.phase === 'run') for (const t of l.tasks) add(a.jobId, a.attempt, t.nodeId, t.taskId);
  });
  for (const { staged } of promoted) {
    if (staged.phase === 'run') for (const t of staged.taskIds) add(staged.jobId, staged.attempt, staged.nodeId, t);
  }
  return known;
}

async function stageCandidates(
  deps: JobRunDeps,
  clusterId: string,
  candidates: readonly StageCandidate[],
  known: KnownForLaunch,
  now: string,
  runTasks: ReadonlyMap<string, string[]>,
): Promise<void> {
  const built = await Promise.all(
    candidates.map(async (c) => ({
      candidate: c,
      result: await stageJobAttempt(
        deps,
        {
          jobId: c.job.jobId,
          attempt: c.job.attempt,
          nodeId: c.nodeId,
          behind: c.behind,
          at: now,
          after: runTasks.get(`${c.behind.jobId}\n${c.behind.attempt}\n${c.nodeId}`),
        },
        known,
      ).catch(() => ({ ok: false as const, skip: true as const })),
    })),
  );
  const ready = built.flatMap(({ candidate: c, result: r }) =>
    r.ok
      ? [
          {
            staged: {
              ...c.job,
              nodeId: c.nodeId,
              bootId: c.bootId,
              behind: c.behind,
              stagedAt: now,
              phase: r.phase,
              taskIds: r.taskIds,
            } satisfies StagedJob,
            commands: r.commands,
          },
        ]
      : [],
  );
  const unstageable = built.filter((b) => !b.result.ok && 'unstageable' in b.result).map((b) => b.candidate.job);
  if (ready.length === 0 && unstageable.length === 0) return;
  const { result: added } = await deps.schedules.update(clusterId, (current) => {
    let doc = current;
    for (const job of unstageable) doc = markUnstageable(doc, job.jobId, job.attempt);
    // Still behind the same holder on the same node, and still queued: otherwise the candidate is stale.
    const fresh = ready.filter(({ staged }) =>
      doc.allocations.some(
        (a) =>
          a.jobId === staged.behind.jobId && a.attempt === staged.behind.attempt && a.nodeIds.includes(staged.nodeId),
      ),
    );
    const next = addStaged(
      doc,
      fresh.map((r) => r.staged),
    );
    const inDoc = new Set((next.staged ?? []).map((x) => `${x.attempt}:${x.jobId}:${x.nodeId}:${x.stagedAt}`));
    return {
      doc: next,
      result: fresh.filter((r) => inDoc.has(`${r.staged.attempt}:${r.staged.jobId}:${r.staged.nodeId}:${now}`)),
    };
  });
  await Promise.all(
    added.map(async ({ staged, commands }) => {
      const { scaleSetName, instanceId } = splitNodeId(staged.nodeId);
      try {
        for (const command of commands) await deps.commands.send(scaleSetName, instanceId, command);
      } catch {
        // Not on its way to the agent: back to the queue it goes, to start the ordinary way.
        await deps.schedules.update(clusterId, (current) => ({
          doc: withdrawStaged(current, staged),
          result: undefined,
        }));
      }
    }),
  );
}
