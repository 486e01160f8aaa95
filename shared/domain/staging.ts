import {
  type Allocation,
  type ClusterSchedule,
  type QueuedJob,
  queueOrder,
  type SchedulerNode,
  type StagedJob,
} from './scheduling.js';

// Staging (decision 0120): while a node runs a job, the job that would start there next is sent to it ahead, so
// its agent starts it the moment the running one's tasks exit. A turnover then costs the agent's own work (a few
// ms), not two queue hops and a scheduling pass (~300 ms), which is what a stream of short jobs needs.
//
// What is staged is always a prefix of the queue order, so staging never lets a job overtake another:
// - only single-node jobs, one per node, behind any allocation; the walk stops at the first job it cannot stage
//   (a gang, one in back-off is skipped like in a plan, one marked unstageable), so nothing is staged past it;
// - a job that arrives ahead of staged ones in queue order takes a slot back: the last staged job in order is
//   revoked (asked back from the agent, which answers whether it had started; until then its node stays held).
// The agent decides the race between a revoke and the running job's exit: what it started runs.
// A staged job is promoted to an allocation once no allocation holds its node (its holder released it: finished,
// requeued, failed), whatever the node's state: if the node was lost meanwhile, the promoted job may have started
// on it and is then reported lost like any allocation, so it is retried as a new attempt and never run twice
// under one attempt number.

export interface StagingChanges {
  doc: ClusterSchedule;
  /** Staged jobs whose node no allocation holds any more: now allocations (their jobs are told they started). */
  promoted: Array<{ allocation: Allocation; staged: StagedJob }>;
  /** Staged jobs asked back: `unstageTask` goes to their nodes. */
  revoked: StagedJob[];
  /** Staged jobs of ended jobs whose node is gone: dropped without an answer. */
  dropped: StagedJob[];
}

/** What a staging pass knows of a node: its scheduler state and boot. */
type Nodes = ReadonlyMap<string, SchedulerNode>;

const alive = (node: SchedulerNode | undefined, bootId: string) =>
  node !== undefined && node.bootId === bootId && (node.state === 'idle' || node.state === 'running');

/** The queue entry a staged job came from (what goes back to the queue when it is taken back). */
export function queuedOf(s: StagedJob): QueuedJob {
  return {
    jobId: s.jobId,
    attempt: s.attempt,
    priority: s.priority,
    nodeCount: s.nodeCount,
    queuedAt: s.queuedAt,
    maxWallClockMs: s.maxWallClockMs,
    ...(s.requeuedAt !== undefined ? { requeuedAt: s.requeuedAt } : {}),
    ...(s.notBefore !== undefined ? { notBefore: s.notBefore } : {}),
  };
}

/** The allocation a staged job becomes once its node is free in the document. */
export function promotedOf(s: StagedJob, now: string): Allocation {
  return {
    jobId: s.jobId,
    attempt: s.attempt,
    priority: s.priority,
    nodeIds: [s.nodeId],
    startedAt: now,
    deadline: new Date(Date.parse(now) + s.maxWallClockMs).toISOString(),
    queuedAt: s.queuedAt,
    nodeCount: s.nodeCount,
    maxWallClockMs: s.maxWallClockMs,
    backfilled: false,
    fromStaging: { bootId: s.bootId, stagedAt: s.stagedAt, taskIds: s.taskIds, phase: s.phase },
  };
}

/** The staging an allocation was promoted from (what its agent was sent), for one promoted from staging. */
export function stagedOf(a: Allocation): StagedJob | undefined {
  if (!a.fromStaging) return undefined;
  const { bootId, stagedAt, taskIds, phase } = a.fromStaging;
  return {
    jobId: a.jobId,
    attempt: a.attempt,
    priority: a.priority,
    nodeCount: a.nodeCount,
    queuedAt: a.queuedAt,
    maxWallClockMs: a.maxWallClockMs,
    nodeId: a.nodeIds[0]!,
    bootId,
    behind: { jobId: a.jobId, attempt: a.attempt },
    stagedAt,
    // Preparation tasks are the only ones named jobprep-<i> (plan-launch.ts).
    phase: phase ?? (taskIds.every((t) => /\.jobprep-\d+$/.test(t)) ? 'prepare' : 'run'),
    taskIds,
  };
}

/** A staging candidate: where the job will go and what it waits behind (the caller builds the command). */
export interface StageCandidate {
  job: QueuedJob;
  nodeId: string;
  bootId: string;
  behind: { jobId: string; attempt: number };
}

/**
 * Promotions, revocations and the candidates to stage, on a document a scheduling pass has just planned. Pure;
 * O(n log n) in the queue. Candidates are not in the returned document yet: the caller builds each one's command
 * first (which may fail, e.g. a job whose plan cannot be made) and adds what it could build with `addStaged`.
 */
export function stagingPass(
  doc: ClusterSchedule,
  nodes: readonly SchedulerNode[],
  now: string,
): StagingChanges & { candidates: StageCandidate[] } {
  const byId: Nodes = new Map(nodes.map((n) => [n.nodeId, n]));
  const holderOf = new Map<string, Allocation>();
  for (const a of doc.allocations) for (const id of a.nodeIds) holderOf.set(id, a);

  const promoted: StagingChanges['promoted'] = [];
  const dropped: StagedJob[] = [];
  const revoked: StagedJob[] = [];
  const kept: StagedJob[] = [];
  for (const s of doc.staged ?? []) {
    const node = byId.get(s.nodeId);
    const gone = !alive(node, s.bootId) && node?.state !== 'leaving';
    if (s.revoke === 'cancel') {
      // The job is over; its node is free once the agent says its task is not running, or once the node is gone.
      if (gone && !holderOf.has(s.nodeId)) dropped.push(s);
      else kept.push(s);
      continue;
    }
    // A node a resize asked back takes no new job: the staged one is asked back (the agent may have started it).
    if (node?.state === 'leaving' && s.revoke === undefined && !s.started) {
      const asked = { ...s, revoke: 'requeue' as const };
      revoked.push(asked);
      kept.push(asked);
      continue;
    }
    if (!holderOf.has(s.nodeId) && (s.revoke === undefined || s.started || gone)) {
      promoted.push({ allocation: promotedOf(s, now), staged: s });
      continue;
    }
    kept.push(s);
  }
  for (const { allocation } of promoted) for (const id of allocation.nodeIds) holderOf.set(id, allocation);

  // The staged prefix: staged jobs still in question (not revoked, not started) merged with the queue, in queue
  // order. Revoked ones and started ones keep their node but no longer count as a place in the order.
  const nowMs = Date.parse(now);
  const open = kept.filter((s) => s.revoke === undefined && !s.started);
  const stagedKey = (j: { jobId: string; attempt: number }) => `${j.attempt}:${j.jobId}`;
  const openKeys = new Set(open.map(stagedKey));
  const occupied = new Set(kept.map((s) => s.nodeId));
  // Not behind a retried attempt: a staged task waits for its holder's task ids, which every attempt reuses, and an
  // earlier attempt may have ended on the same node already (the agent would take that exit for this one's).
  const stageable = nodes
    .filter(
      (n) =>
        (n.state === 'idle' || n.state === 'running') &&
        n.bootId !== undefined &&
        holderOf.get(n.nodeId)?.attempt === 1 &&
        !occupied.has(n.nodeId),
    )
    .map((n) => ({ node: n, holder: holderOf.get(n.nodeId)! }))
    // The node whose job started first is likely free first.
    .sort(
      (a, b) =>
        Date.parse(a.holder.startedAt) - Date.parse(b.holder.startedAt) ||
        (a.node.nodeId < b.node.nodeId ? -1 : a.node.nodeId > b.node.nodeId ? 1 : 0),
    );
  const slots = open.length + stageable.length;
  const order = queueOrder([
    ...open,
    ...doc.queue.filter((q) => q.notBefore === undefined || Date.parse(q.notBefore) <= nowMs),
  ]);
  const wanted = new Set<string>();
  const candidates: StageCandidate[] = [];
  let nextNode = 0;
  for (const job of order) {
    if (wanted.size >= slots) break;
    if (job.nodeCount !== 1 || job.unstageable) break;
    wanted.add(stagedKey(job));
    if (openKeys.has(stagedKey(job))) continue;
    const free = stageable[nextNode];
    // Its slot is held by a staged job later in the order, asked back below: it is staged once that one's node
    // is free (a later pass).
    if (free === undefined) continue;
    nextNode++;
    candidates.push({
      job,
      nodeId: free.node.nodeId,
      bootId: free.node.bootId!,
      behind: { jobId: free.holder.jobId, attempt: free.holder.attempt },
    });
  }
  const staged = kept.map((s) => {
    if (s.revoke !== undefined || s.started || wanted.has(stagedKey(s))) return s;
    const asked = { ...s, revoke: 'requeue' as const };
    revoked.push(asked);
    return asked;
  });
  const changed = promoted.length > 0 || dropped.length > 0 || revoked.length > 0;
  const next: ClusterSchedule = changed
    ? { ...doc, allocations: [...doc.allocations, ...promoted.map((p) => p.allocation)], staged }
    : doc;
  return { doc: next, promoted, revoked, dropped, candidates };
}

/** Adds staged jobs (moved out of the queue) whose commands were built; a candidate no longer queued is skipped. */
export function addStaged(doc: ClusterSchedule, staged: readonly StagedJob[]): ClusterSchedule {
  if (staged.length === 0) return doc;
  const queued = new Set(doc.queue.map((q) => `${q.attempt}:${q.jobId}`));
  const occupied = new Set([...(doc.staged ?? []).map((s) => s.nodeId)]);
  const adding = staged.filter((s) => {
    if (!queued.has(`${s.attempt}:${s.jobId}`) || occupied.has(s.nodeId)) return false;
    occupied.add(s.nodeId);
    return true;
  });
  if (adding.length === 0) return doc;
  const moved = new Set(adding.map((s) => `${s.attempt}:${s.jobId}`));
  return {
    ...doc,
    queue: doc.queue.filter((q) => !moved.has(`${q.attempt}:${q.jobId}`)),
    staged: [...(doc.staged ?? []), ...adding],
  };
}

/** A job whose command could not be built for staging: it starts the ordinary way (once a node is free). */
export function markUnstageable(doc: ClusterSchedule, jobId: string, attempt: number): ClusterSchedule {
  const at = doc.queue.findIndex((q) => q.jobId === jobId && q.attempt === attempt && !q.unstageable);
  if (at < 0) return doc;
  return { ...doc, queue: doc.queue.map((q, i) => (i === at ? { ...q, unstageable: true as const } : q)) };
}

/**
 * The job ended (terminated, deleted) while staged: its entry is asked back for good (`cancel`), holding its node
 * until the agent says the task is not running. Returns the entries newly cancelled (an unstageTask with kill goes
 * to each).
 */
export function cancelStaged(doc: ClusterSchedule, jobId: string): { doc: ClusterSchedule; cancelled: StagedJob[] } {
  const key = jobId.toLowerCase();
  const cancelled: StagedJob[] = [];
  const staged = (doc.staged ?? []).map((s) => {
    if (s.jobId.toLowerCase() !== key || s.revoke === 'cancel') return s;
    const asked = { ...s, revoke: 'cancel' as const };
    cancelled.push(asked);
    return asked;
  });
  return cancelled.length === 0 ? { doc, cancelled } : { doc: { ...doc, staged }, cancelled };
}

/**
 * The agent's answer to an unstageTask. `dropped`: the task never ran; a job asked back to make room goes back to
 * the queue as it was, a cancelled one is gone. `started`: a cancelled one was killed and has exited (its node is
 * free); one asked back to make room runs on, and is promoted once its node is free. Stale answers change nothing.
 */
export function resolveUnstaged(
  doc: ClusterSchedule,
  answer: { jobId: string; attempt: number; nodeId: string; outcome: 'dropped' | 'started' },
): ClusterSchedule {
  const s = (doc.staged ?? []).find(
    (x) =>
      x.jobId.toLowerCase() === answer.jobId.toLowerCase() &&
      x.attempt === answer.attempt &&
      x.nodeId === answer.nodeId &&
      x.revoke !== undefined,
  );
  if (!s) return doc;
  const others = (doc.staged ?? []).filter((x) => x !== s);
  if (s.revoke === 'cancel') return { ...doc, staged: others };
  // Back in the queue it starts the ordinary way: staged again, it would churn (and its agent keeps refusing a
  // staged command for a task it dropped).
  if (answer.outcome === 'dropped') {
    return { ...doc, staged: others, queue: [...doc.queue, { ...queuedOf(s), unstageable: true as const }] };
  }
  const { revoke: _r, ...rest } = s;
  return { ...doc, staged: [...others, { ...rest, started: true }] };
}

/** A staged job whose command never left for its agent: back to the queue, to start the ordinary way. */
export function withdrawStaged(doc: ClusterSchedule, staged: StagedJob): ClusterSchedule {
  const at = (doc.staged ?? []).findIndex(
    (x) =>
      x.jobId === staged.jobId &&
      x.attempt === staged.attempt &&
      x.nodeId === staged.nodeId &&
      x.stagedAt === staged.stagedAt,
  );
  if (at < 0) return doc;
  return {
    ...doc,
    staged: (doc.staged ?? []).filter((_, i) => i !== at),
    queue: [...doc.queue, { ...queuedOf(staged), unstageable: true as const }],
  };
}

/**
 * A job promoted from staging that ended otherwise than by its tasks' exits (terminated before its lifecycle
 * heard that it started): its allocation becomes an entry being cancelled, holding the node until the agent says
 * the task is stopped.
 */
export function holdUntilStopped(doc: ClusterSchedule, holds: readonly Allocation[]): ClusterSchedule {
  const entries: StagedJob[] = holds.flatMap((a) => {
    const staged = stagedOf(a);
    return staged ? [{ ...staged, revoke: 'cancel' as const }] : [];
  });
  return entries.length === 0 ? doc : { ...doc, staged: [...(doc.staged ?? []), ...entries] };
}
