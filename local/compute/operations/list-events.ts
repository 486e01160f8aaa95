// GET /admin/events?limit=n — the newest events of the outbox, with whether and when Event Grid accepted them.
import type { Compute } from '../compute.js';
import { type HttpResponse, json } from '../http-types.js';

export function listEvents(c: Compute, limit: number): HttpResponse {
  return json(200, {
    value: c.store.recentEvents(limit).map((e) => ({
      seq: e.seq,
      publishedAt: e.publishedAt === null ? null : new Date(e.publishedAt).toISOString(),
      attempts: e.attempts,
      lastError: e.lastError,
      event: JSON.parse(e.payload) as unknown,
    })),
  });
}
