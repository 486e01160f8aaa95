// The bookkeeping of staged tasks (decision 0120): a runTask with `after` is held until every task it names has
// exited on this boot, so the next job on a node starts the moment the previous one ends, with no round trip
// through the app. Pure and synchronous on purpose: the command loop runs commands concurrently, and each decision
// here is taken and recorded in one step, with no await between the check and the set.

export type TaskRef = { jobId: string; attempt: number; taskId: string };

/** How many task ids, go tokens and cancellations a boot remembers (oldest forgotten first). */
export const REMEMBERED = 10_000;

const keyOf = (r: TaskRef) => `${r.jobId}\n${r.attempt}\n${r.taskId}`;

/** An insertion-ordered set that forgets its oldest member past `limit`. */
class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly limit: number) {}
  has(item: string): boolean {
    return this.items.has(item);
  }
  add(item: string): void {
    this.items.delete(item);
    this.items.add(item);
    if (this.items.size > this.limit) this.items.delete(this.items.values().next().value as string);
  }
  delete(item: string): boolean {
    return this.items.delete(item);
  }
}

/** What to do with a runTask that just arrived. */
export type Arrival =
  | { action: 'start' }
  /** Held until these task ids (the ones of `after` not yet exited) have exited. */
  | { action: 'stage'; waitingFor: string[] }
  /** The same task is staged already (the app sent it twice): nothing more to do. */
  | { action: 'duplicate' }
  /** An unstageTask (of a staged command) or a killTask came first: the task never runs on this boot. */
  | { action: 'cancelled' };

/**
 * Staged tasks keyed by (jobId, attempt, taskId), and what a staged task's `after` is matched against: the wire
 * task ids (`<job uid>.<task>`) that exited on this boot. A task id counts as exited from its exit until a runTask
 * for it arrives again (a retried attempt reuses its ids, and its new run has not exited).
 */
export class StagedTasks<T> {
  private readonly staged = new Map<string, { ref: TaskRef; waitingFor: Set<string>; payload: T }>();
  private readonly exited: BoundedSet;
  private readonly received: BoundedSet;
  private readonly goTokens: BoundedSet;
  private readonly cancelled: BoundedSet;
  private readonly killed: BoundedSet;

  constructor(limit = REMEMBERED) {
    this.exited = new BoundedSet(limit);
    this.received = new BoundedSet(limit);
    this.goTokens = new BoundedSet(limit);
    this.cancelled = new BoundedSet(limit);
    this.killed = new BoundedSet(limit);
  }

  get size(): number {
    return this.staged.size;
  }

  /** A runTask arrived (`after` absent: an ordinary one); `payload` is what `exited`/`release` hand back later. */
  arrive(ref: TaskRef, after: string[] | undefined, payload: T): Arrival {
    const key = keyOf(ref);
    // A kill is final: the app never runs a task of an attempt again once it killed it.
    if (this.killed.has(key)) return { action: 'cancelled' };
    // Only the staged command is cancelled: a job given back is started the ordinary way later (without `after`),
    // possibly on this very node, and that run must happen.
    if (after !== undefined && this.cancelled.has(key)) return { action: 'cancelled' };
    const existing = this.staged.get(key);
    if (existing && after !== undefined) return { action: 'duplicate' };
    this.received.add(key);
    // A new run of this task id: whatever waits for it waits for this run's exit, not an earlier one's.
    this.exited.delete(ref.taskId);
    // The app resending the task without `after` means "now", as startStaged does.
    if (existing) this.staged.delete(key);
    if (after === undefined || this.goTokens.delete(key)) return { action: 'start' };
    const waitingFor = new Set(after.filter((id) => !this.exited.has(id)));
    if (waitingFor.size === 0) return { action: 'start' };
    this.staged.set(key, { ref, waitingFor, payload });
    return { action: 'stage', waitingFor: [...waitingFor] };
  }

  /**
   * A task's process has ended (or it could not start, or it was cancelled while staged): the staged tasks this was
   * the last thing they waited for, removed from the stage, to start now, in the order they arrived.
   */
  taskExited(taskId: string): T[] {
    this.exited.add(taskId);
    const ready: T[] = [];
    for (const [key, entry] of this.staged) {
      if (!entry.waitingFor.delete(taskId) || entry.waitingFor.size > 0) continue;
      this.staged.delete(key);
      ready.push(entry.payload);
    }
    return ready;
  }

  /**
   * startStaged: the staged task, removed from the stage, to start now; `received` if the task arrived and is no
   * longer staged (started, maybe ended: nothing to do); `token` if it has not arrived (it starts as it does).
   */
  release(ref: TaskRef): { outcome: 'released'; payload: T } | { outcome: 'received' } | { outcome: 'token' } {
    const key = keyOf(ref);
    const entry = this.staged.get(key);
    if (entry) {
      this.staged.delete(key);
      return { outcome: 'released', payload: entry.payload };
    }
    if (this.received.has(key)) return { outcome: 'received' };
    this.goTokens.add(key);
    return { outcome: 'token' };
  }

  /**
   * unstageTask: `dropped` if the task was staged (removed now) or never arrived (a later runTask for it is
   * cancelled); `received` if it arrived and left the stage (it started: the caller kills it or not).
   */
  unstage(ref: TaskRef): 'dropped' | 'received' {
    const key = keyOf(ref);
    if (this.staged.delete(key)) return 'dropped';
    if (this.received.has(key)) return 'received';
    this.goTokens.delete(key);
    this.cancelled.add(key);
    return 'dropped';
  }

  /** killTask on a staged task: removed (true), so the caller reports it cancelled; false if it was not staged. */
  drop(ref: TaskRef): boolean {
    return this.staged.delete(keyOf(ref));
  }

  /**
   * killTask on a task neither staged nor running here: `received` if its runTask came (it ran and ended: nothing
   * to do); `unknown` if it never came, remembered so that a runTask arriving after the kill (it overtook it:
   * commands run concurrently, and the app may kill what a launch it never heard of sent) never runs.
   */
  killUnstarted(ref: TaskRef): 'received' | 'unknown' {
    const key = keyOf(ref);
    if (this.received.has(key)) return 'received';
    this.goTokens.delete(key);
    this.killed.add(key);
    return 'unknown';
  }

  /** The agent is stopping: staged tasks die with the boot. */
  clear(): void {
    this.staged.clear();
  }
}
