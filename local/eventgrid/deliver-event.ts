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
  const scoped = scopedAbort(signal, timeoutMs);
  try {
    const res = await fetch(sub.endpoint, {
      method: 'POST',
      headers,
      body,
      signal: scoped.signal,
    });
    // Drain so the connection can be reused; the body's content does not matter to Event Grid.
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status, error: res.ok ? undefined : `HTTP ${res.status}` };
  } catch (err) {
    return { status: undefined, error: scoped.timedOut() ? 'TimedOut' : describeFetchError(err) };
  } finally {
    scoped.dispose();
  }
}

/**
 * An abort signal for one request: fires on the parent (shutdown) or after timeoutMs. Disposed after the
 * request so nothing stays registered on the long-lived parent signal.
 */
export function scopedAbort(parent: AbortSignal, timeoutMs: number) {
  const controller = new AbortController();
  let timedOut = false;
  const onParent = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onParent, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('TimedOut'));
  }, timeoutMs);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParent);
    },
  };
}

export function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) return `${err.message}: ${cause.message}`;
    return err.message;
  }
  return String(err);
}
