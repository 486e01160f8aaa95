// The endpoint validation Azure performs before it delivers anything to a webhook:
// - Event Grid schema: POST a Microsoft.EventGrid.SubscriptionValidationEvent with
//   `aeg-event-type: SubscriptionValidation`; the endpoint answers 200 {"validationResponse": code}
//   (or later GETs validationUrl — the "manual" handshake, served by the emulator's routes).
// - CloudEvents 1.0: the abuse-protection preflight, OPTIONS with WebHook-Request-Origin; the endpoint
//   answers 200 with WebHook-Allowed-Origin set to that origin (or *).
import { randomUUID } from 'node:crypto';
import type { Subscription } from './config.js';
import { describeFetchError, scopedAbort } from './deliver-event.js';

export const WEBHOOK_REQUEST_ORIGIN = 'eventgrid.azure.net';

export interface HandshakeRequest {
  topic: string;
  validationCode: string;
  validationUrl: string;
  timeoutMs: number;
  signal: AbortSignal;
}

export type HandshakeResult = { ok: true } | { ok: false; detail: string };

export async function validateSubscription(sub: Subscription, req: HandshakeRequest): Promise<HandshakeResult> {
  const scoped = scopedAbort(req.signal, req.timeoutMs);
  try {
    return sub.schema === 'CloudEventSchemaV1_0'
      ? await cloudEventsPreflight(sub, scoped.signal)
      : await eventGridHandshake(sub, req, scoped.signal);
  } catch (err) {
    return { ok: false, detail: scoped.timedOut() ? 'TimedOut' : describeFetchError(err) };
  } finally {
    scoped.dispose();
  }
}

async function eventGridHandshake(
  sub: Subscription,
  req: HandshakeRequest,
  signal: AbortSignal,
): Promise<HandshakeResult> {
  const event = {
    id: randomUUID(),
    topic: req.topic,
    subject: '',
    data: { validationCode: req.validationCode, validationUrl: req.validationUrl },
    eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
    eventTime: new Date().toISOString(),
    metadataVersion: '1',
    dataVersion: '2',
  };
  const res = await fetch(sub.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'aeg-event-type': 'SubscriptionValidation',
      'aeg-subscription-name': sub.name,
      'aeg-delivery-count': '0',
      'aeg-data-version': '2',
      'aeg-metadata-version': '1',
    },
    body: JSON.stringify([event]),
    signal,
  });
  const text = await res.text();
  if (res.status !== 200) return { ok: false, detail: `validation answered HTTP ${res.status}` };
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return { ok: false, detail: 'validation answer is not JSON' };
  }
  const code = (answer as { validationResponse?: unknown } | null)?.validationResponse;
  if (code !== req.validationCode) return { ok: false, detail: 'validationResponse missing or wrong' };
  return { ok: true };
}

async function cloudEventsPreflight(sub: Subscription, signal: AbortSignal): Promise<HandshakeResult> {
  const res = await fetch(sub.endpoint, {
    method: 'OPTIONS',
    headers: { 'WebHook-Request-Origin': WEBHOOK_REQUEST_ORIGIN },
    signal,
  });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status !== 200) return { ok: false, detail: `OPTIONS answered HTTP ${res.status}` };
  const allowed = res.headers.get('webhook-allowed-origin');
  if (allowed !== '*' && allowed?.toLowerCase() !== WEBHOOK_REQUEST_ORIGIN) {
    return { ok: false, detail: 'WebHook-Allowed-Origin missing or not matching' };
  }
  return { ok: true };
}
