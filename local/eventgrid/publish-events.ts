// POST /api/events?api-version=… — the custom-topic publish operation, as EventGridPublisherClient calls
// it: Event Grid schema (application/json array) or CloudEvents 1.0 (application/cloudevents-batch+json,
// or one application/cloudevents+json event).
import { type AnyEvent, parseCloudEventBatch, parseEventGridBatch } from './event-schemas.js';
import { errorResponse, type HttpRequest, type HttpResponse } from './http-types.js';
import { authenticatePublisher } from './topic-auth.js';

/** Azure's limit for one publish request. */
export const MAX_PUBLISH_BYTES = 1024 * 1024;

export interface PublishContext {
  topicKey: string;
  /** The topic's resource id, filled into Event Grid-schema events that carry none. */
  topicId: string;
  now: number;
  /** Persists the events' deliveries; returns once they are durable (so 200 means "will be delivered"). */
  enqueue: (events: AnyEvent[]) => void;
}

export function publishEvents(req: HttpRequest, ctx: PublishContext): HttpResponse {
  const auth = authenticatePublisher(
    { sasKey: req.headers['aeg-sas-key'], sasToken: req.headers['aeg-sas-token'] },
    ctx.topicKey,
    ctx.now,
  );
  if (!auth.ok) return errorResponse(401, 'Unauthorized', auth.message);
  if (!req.query.get('api-version')) {
    return errorResponse(400, 'BadRequest', 'The api-version query parameter is required (e.g. 2018-01-01).');
  }
  if (req.body.length > MAX_PUBLISH_BYTES) {
    return errorResponse(413, 'RequestEntityTooLarge', `The request exceeds the ${MAX_PUBLISH_BYTES}-byte limit.`);
  }
  let body: unknown;
  try {
    body = JSON.parse(req.body.toString('utf8'));
  } catch {
    return errorResponse(400, 'BadRequest', 'The request body is not valid JSON.');
  }
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  const looksCloud =
    contentType.startsWith('application/cloudevents') ||
    (Array.isArray(body) && (body[0] as { specversion?: unknown } | undefined)?.specversion !== undefined);
  let events: AnyEvent[];
  if (looksCloud) {
    const parsed = parseCloudEventBatch(body);
    if (!parsed.ok) return errorResponse(400, 'BadRequest', parsed.message);
    events = parsed.events.map((event): AnyEvent => ({ schema: 'CloudEventSchemaV1_0', event }));
  } else {
    const parsed = parseEventGridBatch(body, ctx.topicId);
    if (!parsed.ok) return errorResponse(400, 'BadRequest', parsed.message);
    events = parsed.events.map((event): AnyEvent => ({ schema: 'EventGridSchema', event }));
  }
  ctx.enqueue(events);
  return { statusCode: 200 };
}
