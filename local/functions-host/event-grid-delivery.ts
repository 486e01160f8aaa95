// What Event Grid webhook endpoints (the eventGrid trigger and the EventGrid-sourced blob trigger) share:
// the system-key check, the CloudEvents OPTIONS abuse-protection check, the SubscriptionValidation
// handshake and parsing of Event Grid schema / CloudEvents 1.0 bodies (single event or batch).

import { emptyResponse, type HostRequest, type HostResponse, jsonResponse } from './http-types.js';
import { type HostKeys, presentedKey } from './keys.js';

export type GridEvent = Record<string, unknown>;

export const VALIDATION_EVENT_TYPE = 'Microsoft.EventGrid.SubscriptionValidationEvent';

export function isCloudEvent(e: GridEvent): boolean {
  return typeof e.specversion === 'string';
}

export function eventTypeOf(e: GridEvent): string {
  return String((isCloudEvent(e) ? e.type : e.eventType) ?? '');
}

/** Parses the body into events; a string error means 400 (malformed). */
export function parseEvents(body: Buffer): GridEvent[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'The request body is not valid JSON';
  }
  const events = Array.isArray(parsed) ? parsed : [parsed];
  if (events.length === 0) return 'The request body contains no events';
  for (const e of events) {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return 'Every event must be a JSON object';
    const ev = e as GridEvent;
    if (isCloudEvent(ev)) {
      if (ev.specversion !== '1.0') return `Unsupported CloudEvents specversion "${String(ev.specversion)}"`;
      if (typeof ev.id !== 'string' || typeof ev.type !== 'string' || typeof ev.source !== 'string') {
        return 'A CloudEvent must have string id, source and type';
      }
    } else if (typeof ev.id !== 'string' || typeof ev.eventType !== 'string' || typeof ev.subject !== 'string') {
      return 'An Event Grid event must have string id, subject and eventType';
    }
  }
  return events as GridEvent[];
}

function errorBody(status: number, message: string): HostResponse {
  return jsonResponse(status, { error: { message } });
}

/**
 * The parts of a webhook delivery that do not depend on the function: authorisation, OPTIONS, validation,
 * aeg-event-type. Returns either a finished response or the notification's events.
 */
export function acceptDelivery(
  req: HostRequest,
  keys: HostKeys,
  systemKeyName: string,
): { response: HostResponse } | { events: GridEvent[] } {
  if (!keys.allowsSystem(systemKeyName, presentedKey(req.headers, req.query))) {
    return { response: emptyResponse(401) };
  }
  const method = req.method.toUpperCase();
  if (method === 'OPTIONS') {
    // CloudEvents 1.0 webhook abuse protection: echo the origin back as allowed.
    const origin = req.headers['webhook-request-origin'];
    if (!origin) return { response: errorBody(400, 'Missing WebHook-Request-Origin header') };
    return { response: { status: 200, headers: { 'webhook-allowed-origin': origin, 'webhook-allowed-rate': '*' } } };
  }
  if (method !== 'POST') return { response: errorBody(405, `Method ${method} is not allowed`) };

  const parsed = parseEvents(req.body);
  if (typeof parsed === 'string') return { response: errorBody(400, parsed) };

  const aegType = (req.headers['aeg-event-type'] ?? '').toLowerCase();
  if (aegType === 'subscriptionvalidation') {
    const first = parsed[0]!;
    const data = (first.data ?? {}) as Record<string, unknown>;
    if (eventTypeOf(first) !== VALIDATION_EVENT_TYPE || typeof data.validationCode !== 'string') {
      return { response: errorBody(400, `A SubscriptionValidation request must carry a ${VALIDATION_EVENT_TYPE}`) };
    }
    return { response: jsonResponse(200, { validationResponse: data.validationCode }) };
  }
  if (aegType === 'unsubscribe') return { response: emptyResponse(202) };
  if (aegType === 'notification' || (aegType === '' && parsed.every(isCloudEvent))) {
    return { events: parsed };
  }
  return {
    response: errorBody(400, `Unknown or missing aeg-event-type header "${req.headers['aeg-event-type'] ?? ''}"`),
  };
}
