// The dispatch loop: which orchestration episodes and activities run now. An instance runs at most one
// episode at a time (work that arrives meanwhile makes it run again right after); episodes and activities
// each have their own concurrency limit. Work is woken in-process (no polling): a pump runs in the next
// microtask after anything becomes ready.

import type { ActivityRow } from './sqlite-store.js';

export interface DispatchWork {
  runEpisode(instanceId: string): Promise<void>;
  runActivity(activity: ActivityRow): Promise<void>;
  /** An episode threw; the dispatcher has already released the instance. */
  episodeFailed(instanceId: string, err: unknown): void;
  activityFailed(activity: ActivityRow, err: unknown): void;
}

export interface DispatchLimits {
  maxConcurrentOrchestrations: number;
  maxConcurrentActivities: number;
}

export class Dispatcher {
  private readonly ready = new Set<string>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private activityQueue: ActivityRow[] = [];
  private activityHead = 0;
  private activeActivities = 0;
  private readonly maxOrchestrations: number;
  private readonly maxActivities: number;
  private readonly inflight = new Set<Promise<void>>();
  private pumpQueued = false;
  private stopped = false;

  constructor(
    private readonly work: DispatchWork,
    limits: DispatchLimits,
  ) {
    this.maxOrchestrations = Math.max(1, limits.maxConcurrentOrchestrations);
    this.maxActivities = Math.max(1, limits.maxConcurrentActivities);
  }

  /** The instance has new messages: run an episode (after the one running now, if any). */
  wake(instanceId: string): void {
    if (this.running.has(instanceId)) this.again.add(instanceId);
    else this.ready.add(instanceId);
    this.schedulePump();
  }

  /** Queues an activity whose row is committed. */
  enqueueActivity(activity: ActivityRow): void {
    this.activityQueue.push(activity);
    this.schedulePump();
  }

  /** Keeps `stop` waiting for background work (timer firing) as it does for episodes and activities. */
  track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  get runningEpisodes(): number {
    return this.running.size;
  }

  get runningActivities(): number {
    return this.activeActivities;
  }

  /** Stops starting work and waits (up to timeoutMs) for what runs to finish. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    const all = Promise.allSettled([...this.inflight]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    if (timer) clearTimeout(timer);
  }

  private schedulePump(): void {
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    for (const id of this.ready) {
      if (this.running.size >= this.maxOrchestrations) break;
      this.ready.delete(id);
      if (this.running.has(id)) {
        this.again.add(id);
        continue;
      }
      this.running.add(id);
      this.track(
        this.work
          .runEpisode(id)
          .catch((err: unknown) => this.work.episodeFailed(id, err))
          .finally(() => {
            this.running.delete(id);
            if (this.again.delete(id)) this.ready.add(id);
            this.schedulePump();
          }),
      );
    }
    while (this.activeActivities < this.maxActivities && this.activityHead < this.activityQueue.length) {
      const a = this.activityQueue[this.activityHead++]!;
      if (this.activityHead > 1024 && this.activityHead * 2 > this.activityQueue.length) {
        this.activityQueue = this.activityQueue.slice(this.activityHead);
        this.activityHead = 0;
      }
      this.activeActivities++;
      this.track(
        this.work
          .runActivity(a)
          .catch((err: unknown) => this.work.activityFailed(a, err))
          .finally(() => {
            this.activeActivities--;
            this.schedulePump();
          }),
      );
    }
  }
}
