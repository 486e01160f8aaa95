// Group commit for scheduling passes: per key (a cluster), one pass runs at a time in this process; the requests
// that arrive while it runs wait together and are served by the next pass, which runs with all of them. Every
// request of a batch gets that pass's result (or its error).
//
// Why not rely on If-Match alone: it keeps concurrent passes correct, not cheap. A burst of N submissions or job
// ends made N passes race on one document: each lost race re-read, re-parsed and re-planned it, and each pass read
// the cluster and its nodes and built the same staged commands. Batched, a burst costs a few passes. Passes run in
// other processes (other host instances) still race, and If-Match still keeps them apart.

interface Batch<Req, Res> {
  requests: Req[];
  waiters: Array<{ resolve: (result: Res) => void; reject: (err: unknown) => void }>;
  /** Runs the pass of this batch: the function given by its first request. */
  run: (requests: readonly Req[]) => Promise<Res>;
}

interface Lane<Req, Res> {
  next?: Batch<Req, Res>;
}

export class PassBatches<Req, Res> {
  private readonly lanes = new Map<string, Lane<Req, Res>>();

  /** Joins the next pass of `key` (starting it if none runs); `run` runs it if this request opens the batch. */
  run(key: string, request: Req, run: (requests: readonly Req[]) => Promise<Res>): Promise<Res> {
    let lane = this.lanes.get(key);
    const idle = lane === undefined;
    if (!lane) {
      lane = {};
      this.lanes.set(key, lane);
    }
    lane.next ??= { requests: [], waiters: [], run };
    const batch = lane.next;
    batch.requests.push(request);
    const result = new Promise<Res>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (idle) void this.drain(key, lane);
    return result;
  }

  /** How many keys have a pass running or waiting (for tests). */
  get active(): number {
    return this.lanes.size;
  }

  private async drain(key: string, lane: Lane<Req, Res>): Promise<void> {
    while (lane.next) {
      const batch = lane.next;
      lane.next = undefined;
      try {
        const result = await batch.run(batch.requests);
        for (const w of batch.waiters) w.resolve(result);
      } catch (err) {
        for (const w of batch.waiters) w.reject(err);
      }
    }
    this.lanes.delete(key);
  }
}
