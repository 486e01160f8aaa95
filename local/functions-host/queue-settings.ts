// host.json extensions.queues, with the Functions defaults (storage extension 5.x).

export interface QueueSettings {
  batchSize: number;
  newBatchThreshold: number;
  visibilityTimeoutMs: number;
  maxDequeueCount: number;
  messageEncoding: 'base64' | 'none';
  /** How often an idle queue is polled. Azure backs off up to maxPollingInterval; we stay fast. */
  idlePollMs: number;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Parses a .NET TimeSpan ("00:00:30", "1.02:03:04.5") or a number of milliseconds. */
export function parseTimeSpanMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string') return undefined;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?$/.exec(v.trim());
  if (!m) return undefined;
  const [, d, h, min, s, frac] = m;
  const ms = frac ? Number(`0.${frac}`) * 1000 : 0;
  return ((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60000 + Number(s) * 1000 + ms;
}

export function queueSettings(hostJson: Record<string, unknown>): QueueSettings {
  const ext = (hostJson.extensions as Record<string, unknown> | undefined)?.queues as
    | Record<string, unknown>
    | undefined;
  const q = ext ?? {};
  const batchSize = Math.min(32, Math.max(1, Math.floor(num(q.batchSize) ?? 16)));
  const newBatchThreshold = Math.max(0, Math.floor(num(q.newBatchThreshold) ?? Math.floor(batchSize / 2)));
  const encoding = typeof q.messageEncoding === 'string' ? q.messageEncoding.toLowerCase() : 'base64';
  if (encoding !== 'base64' && encoding !== 'none') {
    throw new Error(
      `host.json extensions.queues.messageEncoding must be "base64" or "none", got "${q.messageEncoding}"`,
    );
  }
  const maxPolling = parseTimeSpanMs(q.maxPollingInterval);
  return {
    batchSize,
    newBatchThreshold,
    visibilityTimeoutMs: parseTimeSpanMs(q.visibilityTimeout) ?? 0,
    maxDequeueCount: Math.max(1, Math.floor(num(q.maxDequeueCount) ?? 5)),
    messageEncoding: encoding,
    idlePollMs: Math.min(50, maxPolling ?? 50),
  };
}
