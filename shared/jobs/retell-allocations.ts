import type { Allocation } from '../domain/scheduling.js';
import { stagedOf } from '../domain/staging.js';
import { type AllocatedEvent, JOB_EVENTS, type JobRunDeps } from './job-run-deps.js';
import { promoteStagedAttempt } from './stage-job-attempt.js';

// Telling a job which nodes it got is the last step of the pass that gave them, after the document write. A pass
// that stops between the two (its process killed, a raise refused) leaves a job holding nodes in the document while
// its lifecycle waits for them forever, and a re-run of that pass finds nothing left to start.
// So each process remembers the allocations it has told (or found told), and every pass re-tells the ones of its
// document this process has not: after a restart that is each allocation once, and only the jobs whose lifecycle
// may still be waiting for that attempt's nodes are told again. A second telling is harmless: a lifecycle past its
// queued wait never reads `allocated` again, and the launch it leads to repeats the command ids the agent has seen.

const key = (a: Pick<Allocation, 'jobId' | 'attempt'>) => `${a.jobId.toLowerCase()}\n${a.attempt}`;
const MAX_REMEMBERED_CLUSTERS = 1000;

export class ToldAllocations {
  private readonly clusters = new Map<string, Set<string>>();

  /** The allocations of the document this process has not told yet (and not given in this pass: `fresh`). */
  untold(
    clusterKey: string,
    allocations: readonly Allocation[],
    fresh: ReadonlyArray<Pick<Allocation, 'jobId' | 'attempt'>>,
  ): Allocation[] {
    const told = this.prune(clusterKey, allocations);
    const given = new Set(fresh.map(key));
    return allocations.filter((a) => !told.has(key(a)) && !given.has(key(a)));
  }

  add(clusterKey: string, a: Pick<Allocation, 'jobId' | 'attempt'>): void {
    this.clusters.get(clusterKey)?.add(key(a));
  }

  /** Forgets what the document no longer holds; the cluster becomes the most recently used. */
  private prune(clusterKey: string, allocations: readonly Allocation[]): Set<string> {
    const held = new Set(allocations.map(key));
    const told = new Set([...(this.clusters.get(clusterKey) ?? [])].filter((k) => held.has(k)));
    this.clusters.delete(clusterKey);
    this.clusters.set(clusterKey, told);
    if (this.clusters.size > MAX_REMEMBERED_CLUSTERS) this.clusters.delete(this.clusters.keys().next().value!);
    return told;
  }
}

/**
 * Tells a job again about an allocation its lifecycle may not have heard of: a staged one is promoted again (marked
 * running, `startStaged` resent) so the job knows what runs. `mark` marks the nodes running, as the pass would have.
 * Returns whether it was told.
 */
export async function retellAllocation(
  deps: JobRunDeps,
  a: Allocation,
  mark: (a: Allocation) => Promise<void>,
): Promise<boolean> {
  if (!(await deps.signals.mayAwaitNodes(a.jobId, a.attempt))) return false;
  const staged = stagedOf(a);
  const [launched] = await Promise.all([
    staged ? promoteStagedAttempt(deps, staged, { start: true }) : undefined,
    mark(a),
  ]);
  await deps.signals.jobEvent(a.jobId, JOB_EVENTS.allocated, {
    jobId: a.jobId,
    attempt: a.attempt,
    nodeIds: a.nodeIds,
    ...(launched ? { launched } : {}),
  } satisfies AllocatedEvent);
  return true;
}
