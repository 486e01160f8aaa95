import type { Allocation } from '../domain/scheduling.js';
import { stagedOf } from '../domain/staging.js';
import { allocatedEvent, JOB_EVENTS, type JobRunDeps } from './job-run-deps.js';
import { promoteStagedAttempt } from './stage-job-attempt.js';

// Telling a job which nodes it got is the last step of the pass that gave them, after the document write. A pass
// that stops between the two (its process killed, a raise refused) leaves a job holding nodes in the document while
// its lifecycle waits for them forever, and a re-run of that pass finds nothing left to start.
// So each process remembers the allocations it has told (or found told), and a pass tells again the ones of its
// document this process has not, if the job's lifecycle may still be waiting for that attempt's nodes. In one
// process, that is each allocation once after a restart. With several processes (instances), each also checks the
// allocations the others made, once each; one younger than RETELL_AFTER_MS made since this process started is left
// for a later pass, since its own pass is most likely telling it right now.
// A second telling is harmless: a lifecycle past its queued wait never reads `allocated` again, and the launch it
// leads to repeats the command ids the agent has already seen.

const key = (a: Pick<Allocation, 'jobId' | 'attempt'>) => `${a.jobId.toLowerCase()}\n${a.attempt}`;
const MAX_REMEMBERED_CLUSTERS = 1000;
/** How old an allocation another live process made must be before it is told again. */
export const RETELL_AFTER_MS = 5_000;
/** Lifecycles asked at once by one pass (the first pass after a restart may have every running job to check). */
const RETELL_CONCURRENCY = 16;

export class ToldAllocations {
  private readonly clusters = new Map<string, Set<string>>();

  /** `startedAt`: when this process started (what a pass wrote before cannot be on its way from this process). */
  constructor(private readonly startedAt: number = Date.now()) {}

  /**
   * The allocations of the document this process has not told yet, not given in this pass (`fresh`), and due: made
   * before this process started, or at least RETELL_AFTER_MS ago.
   */
  untold(
    clusterKey: string,
    allocations: readonly Allocation[],
    fresh: ReadonlyArray<Pick<Allocation, 'jobId' | 'attempt'>>,
    now: number,
  ): Allocation[] {
    const told = this.prune(clusterKey, allocations);
    const given = new Set(fresh.map(key));
    return allocations.filter((a) => {
      if (told.has(key(a)) || given.has(key(a))) return false;
      const at = Date.parse(a.startedAt);
      return at < this.startedAt || now - at >= RETELL_AFTER_MS;
    });
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
  await deps.signals.jobEvent(a.jobId, JOB_EVENTS.allocated, allocatedEvent(a, launched));
  return true;
}

/** Runs `each` over `items`, at most RETELL_CONCURRENCY at a time. */
export async function forEachLimited<T>(items: readonly T[], each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await each(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(RETELL_CONCURRENCY, items.length) }, worker));
}
