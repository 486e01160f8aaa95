// How long the command loop waits before polling its queue again. Job start latency is bounded by that wait, and
// an idle agent must not spin, so the pace follows what is likely to come next:
//  - a message just arrived: poll again at once (commands come in bursts);
//  - one of this node's tasks just exited: the app is about to send the next job's command (a scheduling pass
//    follows every job's end), so poll fast until a command comes or HOT_WINDOW_MS has passed;
//  - tasks are running: moderately fast (a killTask, the run phase after a preparation);
//  - idle: back off to IDLE_DELAYS_MS's last step (sub-second, so an idle cluster still starts jobs in < 1 s).

export const IDLE_DELAYS_MS = [0, 25, 50, 100, 200, 300] as const;
/** The longest wait right after a task of this node exited. */
export const HOT_DELAY_MS = 20;
/** How long after a task's exit the agent keeps polling fast when no command comes. */
export const HOT_WINDOW_MS = 3000;
/** The longest wait while tasks run. */
export const BUSY_DELAY_MS = 100;

export class CommandPace {
  private idle = 0;
  private hotUntil = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** A receive answered with `count` messages. */
  received(count: number): void {
    this.idle = count > 0 ? 0 : Math.min(this.idle + 1, IDLE_DELAYS_MS.length - 1);
    // The expected command came: polling fast any longer would only load storage (four busy agents polling every
    // 20 ms are 200 requests a second on a shared emulator).
    if (count > 0) this.hotUntil = 0;
  }

  /** A task of this node exited: its node is free, so a command is likely soon. */
  taskExited(): void {
    this.hotUntil = this.now() + HOT_WINDOW_MS;
    this.idle = 0;
  }

  /** The wait before the next receive, given whether tasks are running now. */
  delayMs(busy: boolean): number {
    const base = IDLE_DELAYS_MS[this.idle] ?? 0;
    if (this.now() < this.hotUntil) return Math.min(base, HOT_DELAY_MS);
    return busy ? Math.min(base, BUSY_DELAY_MS) : base;
  }
}
