// The two event envelopes Event Grid speaks, and the conversions between them.
// Pure: no I/O, no clocks (callers pass `now`).

export type EventSchema = 'EventGridSchema' | 'CloudEventSchemaV1_0';

export interface EventGridEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: unknown;
  dataVersion: string;
  metadataVersion: string;
}

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  data?: unknown;
  data_base64?: string;
  datacontenttype?: string;
  dataschema?: string;
  // Extension attributes travel as top-level members (CloudEvents JSON format).
  [extension: string]: unknown;
}

export type AnyEvent =
  | { schema: 'EventGridSchema'; event: EventGridEvent }
  | { schema: 'CloudEventSchemaV1_0'; event: CloudEvent };

/** The attributes filters look at, whatever the envelope. */
export function eventTypeOf(e: AnyEvent): string {
  return e.schema === 'EventGridSchema' ? e.event.eventType : e.event.type;
}

export function subjectOf(e: AnyEvent): string {
  return e.schema === 'EventGridSchema' ? e.event.subject : (e.event.subject ?? '');
}

export function idOf(e: AnyEvent): string {
  return e.event.id;
}

/** Data version as Azure puts it in the `aeg-data-version` header (CloudEvents have none). */
export function dataVersionOf(e: AnyEvent): string {
  return e.schema === 'EventGridSchema' ? e.event.dataVersion : '';
}

// Azure's mapping when an Event Grid-schema event is delivered to a CloudEvents subscription:
// topic → source, eventType → type, eventTime → time; dataVersion/metadataVersion are dropped.
export function toCloudEvent(e: EventGridEvent): CloudEvent {
  return {
    specversion: '1.0',
    id: e.id,
    source: e.topic,
    subject: e.subject,
    type: e.eventType,
    time: e.eventTime,
    data: e.data,
  };
}

// Azure itself refuses CloudEvents-in / Event Grid-out; the emulator allows it (reverse of the mapping above)
// so one local topic can feed subscriptions of either schema.
export function toEventGridEvent(e: CloudEvent, now: Date): EventGridEvent {
  return {
    id: e.id,
    topic: e.source,
    subject: e.subject ?? '',
    eventType: e.type,
    eventTime: e.time ?? now.toISOString(),
    data: e.data ?? e.data_base64 ?? null,
    dataVersion: '',
    metadataVersion: '1',
  };
}

export function convertTo(schema: EventSchema, e: AnyEvent, now: Date): AnyEvent {
  if (schema === e.schema) return e;
  return schema === 'CloudEventSchemaV1_0'
    ? { schema, event: toCloudEvent(e.event as EventGridEvent) }
    : { schema, event: toEventGridEvent(e.event as CloudEvent, now) };
}

export type ParseResult<T> = { ok: true; events: T[] } | { ok: false; message: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireString(o: Record<string, unknown>, key: string, index: number): string | { error: string } {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0)
    return { error: `events[${index}].${key} is required and must be a string` };
  return v;
}

function normaliseTime(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  // Keep the publisher's own string (it may carry 7 fractional digits like Azure's); only reject garbage.
  return Number.isNaN(t) ? undefined : v;
}

/**
 * Validates a publisher's Event Grid-schema batch. `topic` fills a missing topic the way Azure fills it for
 * custom topics; a topic the publisher set is kept (the compute emulator publishes system events that carry
 * their own ARM topic, e.g. `/subscriptions/{sub}/resourceGroups/{rg}`).
 */
export function parseEventGridBatch(body: unknown, topic: string): ParseResult<EventGridEvent> {
  if (!Array.isArray(body)) return { ok: false, message: 'The request body must be a JSON array of events.' };
  const events: EventGridEvent[] = [];
  for (const [i, raw] of body.entries()) {
    if (!isRecord(raw)) return { ok: false, message: `events[${i}] must be an object` };
    const id = requireString(raw, 'id', i);
    const eventType = requireString(raw, 'eventType', i);
    if (typeof id !== 'string') return { ok: false, message: id.error };
    if (typeof eventType !== 'string') return { ok: false, message: eventType.error };
    if (typeof raw.subject !== 'string') return { ok: false, message: `events[${i}].subject is required` };
    const eventTime = normaliseTime(raw.eventTime);
    if (eventTime === undefined) return { ok: false, message: `events[${i}].eventTime must be an ISO 8601 date-time` };
    events.push({
      id,
      topic: typeof raw.topic === 'string' && raw.topic.length > 0 ? raw.topic : topic,
      subject: raw.subject,
      eventType,
      eventTime,
      data: raw.data ?? null,
      dataVersion: typeof raw.dataVersion === 'string' ? raw.dataVersion : '',
      metadataVersion: '1',
    });
  }
  return { ok: true, events };
}

/** Validates a CloudEvents 1.0 batch (structured JSON) or a single structured event. */
export function parseCloudEventBatch(body: unknown): ParseResult<CloudEvent> {
  const list = Array.isArray(body) ? body : [body];
  const events: CloudEvent[] = [];
  for (const [i, raw] of list.entries()) {
    if (!isRecord(raw)) return { ok: false, message: `events[${i}] must be an object` };
    if (raw.specversion !== '1.0') return { ok: false, message: `events[${i}].specversion must be "1.0"` };
    for (const key of ['id', 'source', 'type']) {
      const v = requireString(raw, key, i);
      if (typeof v !== 'string') return { ok: false, message: v.error };
    }
    if (raw.time !== undefined && normaliseTime(raw.time) === undefined) {
      return { ok: false, message: `events[${i}].time must be an RFC 3339 date-time` };
    }
    events.push(raw as CloudEvent);
  }
  return { ok: true, events };
}
