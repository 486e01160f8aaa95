// One push of one event to one webhook, with the headers Azure sends. The caller decides what the outcome
// means (see retry-schedule.ts); this only reports it.
import type { Subscription } from './config.js';
import type { OutboxEntry } from './store.js';

export interface DeliveryOutcome {
  /** HTTP status, undefined when no response came (refused, reset, timed out). */
  status: number | undefined;
  error: string | undefined;
}

export async function deliverEvent(
  sub: Subscription,
  entry: OutboxEntry,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<DeliveryOutcome> {
  const cloud = sub.schema === 'CloudEventSchemaV1_0';
  const headers: Record<string, string> = {
    // Event Grid-schema webhooks get a JSON array (one event: Azure's default maxEventsPerBatch is 1);
    // CloudEvents webhooks get one structured-mode event.
    'content-type': cloud ? 'application/cloudevents+json; charset=utf-8' : 'application/json',
    'aeg-event-type': 'Notification',
    'aeg-subscription-name': sub.name,
    // Attempts made before this one: Azure's first delivery carries 0.
    'aeg-delivery-count': String(entry.attempts),
    'aeg-metadata-version': '1',
    'aeg-data-version': entry.dataVersion,
  };
  const body = cloud ? entry.payload : `[${entry.payload}]`;
  try {
    const res = await fetch(sub.endpoint, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    // Drain so the connection can be reused; the body's content does not matter to Event Grid.
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status, error: res.ok ? undefined : `HTTP ${res.status}` };
  } catch (err) {
    return { status: undefined, error: describeFetchError(err) };
  }
}

export function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'TimedOut';
    const cause = (err as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) return `${err.message}: ${cause.message}`;
    return err.message;
  }
  return String(err);
}
