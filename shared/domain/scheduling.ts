import { z } from 'zod';
import { DEFAULT_MAX_WALL_CLOCK_TIME, parseDuration } from './duration.js';
import { JOB_PRIORITIES, type JobPriority } from './job-schema.js';
import type { JobRecord } from './job-view.js';
import { formatBatchAiResourceId } from './resource-id.js';

// Per-cluster scheduling: strict priority (high > normal > low), FIFO within a class, gang allocation of
// `nodeCount` nodes at once, and EASY backfill that never delays the job at the head of the queue.
//
// All contended state of one cluster lives in ONE document (ClusterSchedule: the queue and who holds which node),
// replaced with If-Match. A pass is: read the document, `schedulePass(doc, nodes, now)`, write it back with the
// etag; a conflict means another pass won, so read again and redo. Since a node is free only if no allocation in the
// document holds it, two passes can never both hand out the same node: the second one's write fails.
//
// Why EASY backfill (docs/decisions/0060-easy-backfill-on-wall-clock-limits.md): a job's maxWallClockTime is
// enforced (the job is terminated when it expires), so `start + maxWallClockTime` is a hard upper bound on when its
// nodes come back. That is exactly the estimate EASY backfill needs to prove a smaller job cannot delay the head,
// without asking users for run-time estimates they never gave Batch AI.

export const PRIORITY_RANK: Readonly<Record<JobPriority, number>> = { high: 0, normal: 1, low: 2 };

/** Node states as the cluster reports them (nodeStateCounts of the API, plus a node still booting). */
export type SchedulerNodeState = 'idle' | 'running' | 'preparing' | 'unusable' | 'leaving' | 'starting';

export interface SchedulerNode {
  nodeId: string;
  state: SchedulerNodeState;
  /** The node's current boot (commands are addressed to it): a job staged for another boot never reached it. */
  bootId?: string;
}

export interface QueuedJob {
  jobId: string;
  /** 1 for the first run; a requeue after node loss starts the next attempt. */
  attempt: number;
  priority: JobPriority;
  nodeCount: number;
  /** When the job was first queued (ISO 8601); FIFO order within a class. Kept across requeues. */
  queuedAt: string;
  /** The job's maxWallClockTime in ms: the bound the backfill reservation relies on. */
  maxWallClockMs: number;
  /** Set when a started job lost its nodes and went back to the queue: it goes first in its class. */
  requeuedAt?: string;
  /**
   * Back-off after a capped infrastructure failure (ISO 8601): until then the job neither starts nor reserves nodes,
   * so it cannot hold back the jobs behind it. Cleared by the job's lifecycle when its durable timer fires.
   */
  notBefore?: string;
  /** Staging it on a node failed once (e.g. its plan cannot be made): it starts the ordinary way only. */
  unstageable?: true;
}

/**
 * A job sent ahead to a node that still runs another job (decision 0120): the node's agent holds its command and
 * starts it the moment the running job's tasks there exit, with no round trip through the app. Only single-node jobs
 * are staged, one per node. The entry holds its node (nothing else is given it) until a pass promotes it to an
 * allocation, once no allocation holds the node; the agent may have started it well before.
 */
export interface StagedJob extends QueuedJob {
  nodeId: string;
  /** The boot its command went to: if the node has another boot by promotion, the command died with the old one. */
  bootId: string;
  /** The allocation it waits behind. */
  behind: { jobId: string; attempt: number };
  stagedAt: string;
  /** The first phase it was staged with and its wire task ids on the node (what the job's lifecycle waits for). */
  phase: 'prepare' | 'run';
  taskIds: string[];
  /**
   * Asked back from the agent, waiting for its answer (`unstaged`): `requeue` (a job before it in queue order
   * arrived, or its node is leaving) puts it back in the queue if it had not started; `cancel` (the job ended) only
   * frees the node once its task is certainly not running.
   */
  revoke?: 'requeue' | 'cancel';
  /** The agent answered that it had started: promoted like any staged job once its node is free. */
  started?: true;
}

export interface Allocation {
  jobId: string;
  attempt: number;
  priority: JobPriority;
  nodeIds: string[];
  startedAt: string;
  /** startedAt + maxWallClockTime: the nodes are back by then at the latest (the job is killed at its limit). */
  deadline: string;
  /** What the job looked like in the queue, so a requeue puts it back unchanged. */
  queuedAt: string;
  nodeCount: number;
  maxWallClockMs: number;
  backfilled: boolean;
  /**
   * Set when it was promoted from staging: the boot and staging it was sent with, its first phase and that phase's
   * task ids (no phase in documents written before it was recorded: read from the task ids).
   */
  fromStaging?: { bootId: string; stagedAt: string; taskIds: string[]; phase?: 'prepare' | 'run' };
}

/** The one document per cluster holding everything a scheduling pass reads and writes. */
export interface ClusterSchedule {
  /** The cluster's resource id (also the document's partition key and id). */
  clusterId: string;
  queue: QueuedJob[];
  allocations: Allocation[];
  /** Jobs staged behind running ones (absent in documents written before staging: none). */
  staged?: StagedJob[];
}

const isoTime = () => z.string().refine((t) => !Number.isNaN(Date.parse(t)), { error: 'an ISO 8601 time' });

const queuedJobSchema = z.object({
  jobId: z.string(),
  attempt: z.number().int().positive(),
  priority: z.enum(JOB_PRIORITIES),
  nodeCount: z.number().int().positive(),
  queuedAt: isoTime(),
  maxWallClockMs: z.number().positive(),
  requeuedAt: isoTime().optional(),
  notBefore: isoTime().optional(),
  unstageable: z.literal(true).optional(),
});

/** The stored shape of the schedule document, checked when read back (a hand-edited or stale document fails here). */
export const clusterScheduleSchema = z.object({
  clusterId: z.string(),
  queue: z.array(queuedJobSchema),
  allocations: z.array(
    z.object({
      jobId: z.string(),
      attempt: z.number().int().positive(),
      priority: z.enum(JOB_PRIORITIES),
      nodeIds: z.array(z.string()),
      startedAt: isoTime(),
      deadline: isoTime(),
      queuedAt: isoTime(),
      nodeCount: z.number().int().positive(),
      maxWallClockMs: z.number().positive(),
      backfilled: z.boolean(),
      fromStaging: z
        .object({
          bootId: z.string(),
          stagedAt: isoTime(),
          taskIds: z.array(z.string()),
          phase: z.enum(['prepare', 'run']).optional(),
        })
        .optional(),
    }),
  ),
  staged: z
    .array(
      queuedJobSchema.extend({
        nodeId: z.string(),
        bootId: z.string(),
        behind: z.object({ jobId: z.string(), attempt: z.number().int().positive() }),
        stagedAt: isoTime(),
        phase: z.enum(['prepare', 'run']),
        taskIds: z.array(z.string()),
        revoke: z.enum(['requeue', 'cancel']).optional(),
        started: z.literal(true).optional(),
      }),
    )
    .optional(),
}) satisfies z.ZodType<ClusterSchedule>;

export type BackfillPolicy = 'easy' | 'none';

export interface PlanInput {
  nodes: readonly SchedulerNode[];
  queue: readonly QueuedJob[];
  allocations: readonly Allocation[];
  /** Jobs staged behind allocations: they hold their nodes, and for as long as they may run after their holder. */
  staged?: readonly StagedJob[];
  /** ISO 8601; the caller's clock (keeps this function pure). */
  now: string;
  backfill?: BackfillPolicy;
}

export interface PlannedAllocation {
  jobId: string;
  attempt: number;
  nodeIds: string[];
  /** True when the job started ahead of a blocked job that comes before it in queue order. */
  backfilled: boolean;
}

export interface Reservation {
  /** The first job in queue order that could not start. */
  jobId: string;
  /** When enough nodes are certain to be free for it (ISO 8601), or null if the cluster is too small for it now. */
  shadowTime: string | null;
  /** Nodes that will still be spare at shadowTime after the reserved job takes its share. */
  extraNodes: number;
}

export interface Plan {
  allocations: PlannedAllocation[];
  reservation?: Reservation;
}

/** Total order of the queue: priority class, then requeued jobs first, then queued time, then job id. */
export function compareQueued(a: QueuedJob, b: QueuedJob): number {
  const byPriority = PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority];
  if (byPriority !== 0) return byPriority;
  const aRequeued = a.requeuedAt === undefined ? 1 : 0;
  const bRequeued = b.requeuedAt === undefined ? 1 : 0;
  if (aRequeued !== bRequeued) return aRequeued - bRequeued;
  const byTime = Date.parse(a.queuedAt) - Date.parse(b.queuedAt);
  if (byTime !== 0) return byTime;
  return a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0;
}

/** The queue in the order jobs are considered (compareQueued's order; times parsed once per job, not per compare). */
export function queueOrder(queue: readonly QueuedJob[]): QueuedJob[] {
  return queue
    .map((job) => ({
      job,
      rank: PRIORITY_RANK[job.priority] * 2 + (job.requeuedAt === undefined ? 1 : 0),
      time: Date.parse(job.queuedAt),
    }))
    .sort(
      (a, b) =>
        a.rank - b.rank || a.time - b.time || (a.job.jobId < b.job.jobId ? -1 : a.job.jobId > b.job.jobId ? 1 : 0),
    )
    .map((k) => k.job);
}

/** Idle nodes no allocation (nor staged job) holds, sorted by id (the order they are handed out). */
export function freeNodes(
  nodes: readonly SchedulerNode[],
  allocations: readonly Allocation[],
  staged: readonly StagedJob[] = [],
): string[] {
  const held = new Set([...allocations.flatMap((a) => a.nodeIds), ...staged.map((s) => s.nodeId)]);
  return nodes
    .filter((n) => n.state === 'idle' && !held.has(n.nodeId))
    .map((n) => n.nodeId)
    .sort();
}

/**
 * Decides which queued jobs start now and on which nodes. O(n log n) in the queue length (one sort, one pass) plus
 * O(m log m) in the number of allocations (one sort by deadline). Deterministic: the same input gives the same plan.
 *
 * Jobs are taken in queue order while they fit. The first one that does not fit becomes the reserved job: its
 * shadow time is the earliest moment enough nodes are certain to be free (idle nodes now, plus the nodes of running
 * allocations as they reach their deadlines). A later job may then start on idle nodes only if it is certain to
 * be done by the shadow time, or if it uses only nodes the reserved job will not need at that time. With backfill
 * 'none', nothing starts past the reserved job. A job in back-off (`notBefore` after now) is skipped: it neither
 * starts nor becomes the reserved job, so the jobs behind it are planned as if it were not there; when its back-off
 * ends it is again first in its class and reserves like any other head.
 */
export function planAllocations(input: PlanInput): Plan {
  const policy = input.backfill ?? 'easy';
  const now = Date.parse(input.now);
  const staged = input.staged ?? [];
  const free = freeNodes(input.nodes, input.allocations, staged);
  let next = 0; // free[next..] are still unassigned
  const take = (count: number) => {
    const nodeIds = free.slice(next, next + count);
    next += count;
    return nodeIds;
  };
  const available = () => free.length - next;

  const planned: PlannedAllocation[] = [];
  // Jobs started earlier in this pass hold their nodes until their own limit, like running allocations.
  const startedNow: Array<{ nodeIds: string[]; deadline: number }> = [];
  let reservation: Reservation | undefined;
  let shadow = Number.POSITIVE_INFINITY;
  let extra = 0;

  for (const job of queueOrder(input.queue)) {
    // In back-off: invisible to this pass (it would otherwise become the reserved job and hold the queue).
    if (job.notBefore !== undefined && Date.parse(job.notBefore) > now) continue;
    if (reservation === undefined) {
      if (job.nodeCount <= available()) {
        const nodeIds = take(job.nodeCount);
        planned.push({ jobId: job.jobId, attempt: job.attempt, nodeIds, backfilled: false });
        startedNow.push({ nodeIds, deadline: now + job.maxWallClockMs });
        continue;
      }
      const running = holdersOf(input.allocations, staged, now);
      const computed = shadowOf(job.nodeCount, available(), input.nodes, [...running, ...startedNow]);
      shadow = computed.shadow;
      extra = computed.extra;
      reservation = {
        jobId: job.jobId,
        shadowTime: Number.isFinite(shadow) ? new Date(shadow).toISOString() : null,
        extraNodes: extra,
      };
      if (policy === 'none') break;
      continue;
    }
    if (job.nodeCount > available()) continue;
    const endsBeforeShadow = now + job.maxWallClockMs <= shadow;
    if (endsBeforeShadow) {
      planned.push({ jobId: job.jobId, attempt: job.attempt, nodeIds: take(job.nodeCount), backfilled: true });
    } else if (job.nodeCount <= extra) {
      extra -= job.nodeCount;
      planned.push({ jobId: job.jobId, attempt: job.attempt, nodeIds: take(job.nodeCount), backfilled: true });
    }
    if (available() === 0) break;
  }
  return reservation === undefined ? { allocations: planned } : { allocations: planned, reservation };
}

/**
 * When each allocation's nodes come back: at its deadline, except a node with a job staged behind it, which comes
 * back once that job has run its own limit too (a staged job whose holder is gone holds its node from now on).
 */
function holdersOf(
  allocations: readonly Allocation[],
  staged: readonly StagedJob[],
  now: number,
): Array<{ nodeIds: string[]; deadline: number }> {
  const stagedOn = new Map(staged.map((s) => [s.nodeId, s]));
  const holders: Array<{ nodeIds: string[]; deadline: number }> = [];
  const covered = new Set<string>();
  for (const a of allocations) {
    const deadline = Date.parse(a.deadline);
    const plain = a.nodeIds.filter((id) => !stagedOn.has(id));
    if (plain.length > 0) holders.push({ nodeIds: plain, deadline });
    for (const id of a.nodeIds) {
      const next = stagedOn.get(id);
      if (!next) continue;
      covered.add(id);
      holders.push({ nodeIds: [id], deadline: Math.max(deadline, now) + next.maxWallClockMs });
    }
  }
  for (const s of staged) {
    if (!covered.has(s.nodeId)) holders.push({ nodeIds: [s.nodeId], deadline: now + s.maxWallClockMs });
  }
  return holders;
}

// When `need` nodes are certain to be free: the idle ones now, then each running allocation's nodes at its deadline
// (nodes that are unusable or leaving are not coming back). Infinite if even that is not enough.
function shadowOf(
  need: number,
  idleNow: number,
  nodes: readonly SchedulerNode[],
  holders: ReadonlyArray<{ nodeIds: readonly string[]; deadline: number }>,
): { shadow: number; extra: number } {
  const lost = new Set(nodes.filter((n) => n.state === 'unusable' || n.state === 'leaving').map((n) => n.nodeId));
  const known = new Set(nodes.map((n) => n.nodeId));
  const releases = holders
    .map((a) => ({
      at: a.deadline,
      count: a.nodeIds.filter((id) => known.has(id) && !lost.has(id)).length,
    }))
    .sort((a, b) => a.at - b.at);
  let freeAt = idleNow;
  for (let i = 0; i < releases.length; i++) {
    const release = releases[i]!;
    freeAt += release.count;
    // Allocations ending at the same instant all count at that instant.
    while (i + 1 < releases.length && releases[i + 1]!.at === release.at) {
      i++;
      freeAt += releases[i]!.count;
    }
    if (freeAt >= need) return { shadow: release.at, extra: freeAt - need };
  }
  return { shadow: Number.POSITIVE_INFINITY, extra: 0 };
}

// ---------------------------------------------------------------------------------------------------------------
// Transitions on the per-cluster document. Each returns a new document (or the same object when nothing changes, so
// the caller can skip the write); none throws on a repeat, since every trigger is at-least-once.

/** A stored job as it enters the queue: its id, class, gang size, queued time and wall-clock bound. */
export function queuedJobFrom(record: Pick<JobRecord, 'id' | 'properties' | 'creationTime'>, attempt = 1): QueuedJob {
  const limit = parseDuration(record.properties.constraints.maxWallClockTime);
  const fallback = parseDuration(DEFAULT_MAX_WALL_CLOCK_TIME);
  return {
    jobId: formatBatchAiResourceId(record.id),
    attempt,
    priority: record.properties.schedulingPriority,
    nodeCount: record.properties.nodeCount,
    queuedAt: record.creationTime,
    maxWallClockMs: limit.ok ? limit.value : fallback.ok ? fallback.value : Number.MAX_SAFE_INTEGER,
  };
}

export function emptySchedule(clusterId: string): ClusterSchedule {
  return { clusterId, queue: [], allocations: [] };
}

/** Adds a job to the queue; a no-op if that job is already queued or holds nodes. */
export function enqueue(doc: ClusterSchedule, job: QueuedJob): ClusterSchedule {
  if (
    doc.queue.some((q) => q.jobId === job.jobId) ||
    doc.allocations.some((a) => a.jobId === job.jobId) ||
    (doc.staged ?? []).some((s) => s.jobId === job.jobId)
  )
    return doc;
  return { ...doc, queue: [...doc.queue, job] };
}

/**
 * A started job lost its nodes (node failure, preemption, resize with `requeue`) or failed and is retried: its nodes
 * are released and the job goes back to the queue as its next attempt, first in its priority class, not to start
 * before `notBefore` when given (back-off). Stale calls (another attempt) are no-ops.
 */
export function requeue(
  doc: ClusterSchedule,
  jobId: string,
  attempt: number,
  now: string,
  notBefore?: string,
): ClusterSchedule {
  const held = doc.allocations.find((a) => a.jobId === jobId && a.attempt === attempt);
  if (held === undefined) return doc;
  const entry: QueuedJob = {
    jobId,
    attempt: attempt + 1,
    priority: held.priority,
    nodeCount: held.nodeCount,
    queuedAt: held.queuedAt,
    maxWallClockMs: held.maxWallClockMs,
    requeuedAt: now,
    ...(notBefore !== undefined ? { notBefore } : {}),
  };
  return {
    ...doc,
    allocations: doc.allocations.filter((a) => a !== held),
    queue: [...doc.queue, entry],
  };
}

/** The back-off of a queued attempt is over: it may start (and reserve) from the next pass. No-op when stale. */
export function endBackoff(doc: ClusterSchedule, jobId: string, attempt: number): ClusterSchedule {
  const at = doc.queue.findIndex((q) => q.jobId === jobId && q.attempt === attempt && q.notBefore !== undefined);
  if (at < 0) return doc;
  const { notBefore: _n, ...entry } = doc.queue[at]!;
  return { ...doc, queue: doc.queue.map((q, i) => (i === at ? entry : q)) };
}

/**
 * The job is over (finished, failed, terminated, deleted): it leaves the queue and its nodes are released. With an
 * attempt, only that attempt's allocation is released (a late release of an old attempt leaves the new one alone).
 */
export function release(doc: ClusterSchedule, jobId: string, attempt?: number): ClusterSchedule {
  const queue = doc.queue.filter((q) => !(q.jobId === jobId && (attempt === undefined || q.attempt === attempt)));
  const allocations = doc.allocations.filter(
    (a) => !(a.jobId === jobId && (attempt === undefined || a.attempt === attempt)),
  );
  if (queue.length === doc.queue.length && allocations.length === doc.allocations.length) return doc;
  return { ...doc, queue, allocations };
}

/**
 * Applies a plan: the planned jobs move from the queue to allocations. A planned entry is skipped if its job is no
 * longer queued with that attempt or one of its nodes is already held, so applying a stale plan can never give a
 * node twice.
 */
export function applyPlan(doc: ClusterSchedule, plan: Plan, now: string): ClusterSchedule {
  const held = new Set([...doc.allocations.flatMap((a) => a.nodeIds), ...(doc.staged ?? []).map((s) => s.nodeId)]);
  const queued = new Map(doc.queue.map((q) => [`${q.attempt}:${q.jobId}`, q]));
  const started = new Map<string, Allocation>();
  for (const p of plan.allocations) {
    const job = queued.get(`${p.attempt}:${p.jobId}`);
    if (job === undefined || started.has(job.jobId)) continue;
    if (p.nodeIds.length !== job.nodeCount || p.nodeIds.some((id) => held.has(id))) continue;
    if (new Set(p.nodeIds).size !== p.nodeIds.length) continue;
    for (const id of p.nodeIds) held.add(id);
    started.set(job.jobId, {
      jobId: job.jobId,
      attempt: job.attempt,
      priority: job.priority,
      nodeIds: [...p.nodeIds],
      startedAt: now,
      deadline: new Date(Date.parse(now) + job.maxWallClockMs).toISOString(),
      queuedAt: job.queuedAt,
      nodeCount: job.nodeCount,
      maxWallClockMs: job.maxWallClockMs,
      backfilled: p.backfilled,
    });
  }
  if (started.size === 0) return doc;
  return {
    ...doc,
    queue: doc.queue.filter((q) => !started.has(q.jobId)),
    allocations: [...doc.allocations, ...started.values()],
  };
}

/** One scheduling pass on the document: plan and apply. `started` lists what the caller must now launch. */
export function schedulePass(
  doc: ClusterSchedule,
  nodes: readonly SchedulerNode[],
  now: string,
  backfill: BackfillPolicy = 'easy',
): { doc: ClusterSchedule; started: Allocation[]; plan: Plan } {
  const plan = planAllocations({
    nodes,
    queue: doc.queue,
    allocations: doc.allocations,
    ...(doc.staged ? { staged: doc.staged } : {}),
    now,
    backfill,
  });
  const next = applyPlan(doc, plan, now);
  const before = new Set(doc.allocations);
  return { doc: next, started: next.allocations.filter((a) => !before.has(a)), plan };
}
