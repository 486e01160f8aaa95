// In-memory index of durable timers (the rows live in SQLite). One setTimeout is armed for the earliest
// fireAt, so a timer wakes its orchestration when due with no polling; delays longer than setTimeout's
// 2^31-1 ms range are re-armed in steps.

import type { TimerRow } from './sqlite-store.js';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export class TimerWheel {
  private readonly heap: TimerRow[] = [];
  private handle: NodeJS.Timeout | undefined;
  private armedFor = Number.NaN;
  private stopped = false;

  constructor(private readonly onDue: (due: TimerRow[]) => void) {}

  add(t: TimerRow): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.fireAt <= h[i]!.fireAt) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
    this.arm();
  }

  get size(): number {
    return this.heap.length;
  }

  stop(): void {
    this.stopped = true;
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }

  private pop(): TimerRow | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.fireAt < h[m]!.fireAt) m = l;
        if (r < h.length && h[r]!.fireAt < h[m]!.fireAt) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  private arm(): void {
    if (this.stopped) return;
    const next = this.heap[0];
    if (!next) {
      if (this.handle) clearTimeout(this.handle);
      this.handle = undefined;
      this.armedFor = Number.NaN;
      return;
    }
    if (this.handle && this.armedFor === next.fireAt) return;
    if (this.handle) clearTimeout(this.handle);
    this.armedFor = next.fireAt;
    const delay = Math.min(Math.max(0, next.fireAt - Date.now()), MAX_TIMEOUT_MS);
    this.handle = setTimeout(() => this.fire(), delay);
    this.handle.unref();
  }

  private fire(): void {
    this.handle = undefined;
    this.armedFor = Number.NaN;
    const now = Date.now();
    const due: TimerRow[] = [];
    while (this.heap.length > 0 && this.heap[0]!.fireAt <= now) due.push(this.pop()!);
    if (due.length > 0) this.onDue(due);
    this.arm();
  }
}
