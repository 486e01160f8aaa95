// The emulator's pure decisions, without processes: retry schedule, filters, blob change detection,
// SAS tokens and schema conversion.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type BlobVersion,
  classifyChange,
  deterministicId,
  formatSequencer,
} from '../../../local/eventgrid/blob-events.js';
import { parseConfig } from '../../../local/eventgrid/config.js';
import { convertTo, type EventGridEvent, parseEventGridBatch } from '../../../local/eventgrid/event-schemas.js';
import { fanOut } from '../../../local/eventgrid/fan-out.js';
import { matchesFilter } from '../../../local/eventgrid/filters.js';
import {
  AZURE_DEFAULT_RETRY_POLICY,
  decideAfterFailure,
  type RetryDecision,
} from '../../../local/eventgrid/retry-schedule.js';
import { authenticatePublisher, parseServiceTime } from '../../../local/eventgrid/topic-auth.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

test("a failing endpoint is retried on Azure's schedule until 30 attempts / 24 h", () => {
  let now = 0;
  let attempts = 0;
  const delays: number[] = [];
  let decision: RetryDecision;
  for (;;) {
    attempts++;
    decision = decideAfterFailure({ attempts, status: 500, enqueuedAt: 0, now }, AZURE_DEFAULT_RETRY_POLICY, 1);
    if (decision.kind !== 'retry') break;
    delays.push(decision.delayMs);
    now += decision.delayMs;
  }
  assert.deepEqual(delays.slice(0, 8), [10 * S, 30 * S, 1 * M, 5 * M, 10 * M, 30 * M, 1 * H, 1 * H]);
  assert.ok(delays.slice(7).every((d) => d === H));
  assert.ok(attempts <= 30);
  assert.ok(now <= 24 * H);
  assert.equal(decision.kind, 'deadLetter');
});

test('status-specific minimum delays, non-retriable statuses, scaling', () => {
  const at = (status: number | undefined, attempts = 1) =>
    decideAfterFailure({ attempts, status, enqueuedAt: 0, now: 0 }, AZURE_DEFAULT_RETRY_POLICY, 1);
  assert.deepEqual(at(404), { kind: 'retry', delayMs: 5 * M });
  assert.deepEqual(at(401), { kind: 'retry', delayMs: 5 * M });
  assert.deepEqual(at(408), { kind: 'retry', delayMs: 2 * M });
  assert.deepEqual(at(503), { kind: 'retry', delayMs: 30 * S });
  assert.deepEqual(at(undefined), { kind: 'retry', delayMs: 10 * S });
  assert.deepEqual(at(503, 5), { kind: 'retry', delayMs: 10 * M }, 'the schedule wins when it is longer');
  assert.deepEqual(at(400), { kind: 'deadLetter', reason: 'NonRetriableStatus' });
  assert.deepEqual(at(413), { kind: 'deadLetter', reason: 'NonRetriableStatus' });
  const scaled = decideAfterFailure(
    { attempts: 2, status: 500, enqueuedAt: 0, now: 0 },
    AZURE_DEFAULT_RETRY_POLICY,
    0.001,
  );
  assert.deepEqual(scaled, { kind: 'retry', delayMs: 30 });
  const ttl = decideAfterFailure(
    { attempts: 3, status: 500, enqueuedAt: 0, now: 59 * S },
    { maxDeliveryAttempts: 30, eventTimeToLiveMs: M },
    1,
  );
  assert.deepEqual(ttl, { kind: 'deadLetter', reason: 'TimeToLiveExceeded' });
});

test('filters: event types and subjects, case-insensitive unless asked', () => {
  const e = {
    schema: 'EventGridSchema' as const,
    event: {
      id: '1',
      topic: 't',
      subject: '/blobServices/default/containers/Manifests/blobs/a.JSON',
      eventType: 'Microsoft.Storage.BlobCreated',
      eventTime: '2026-01-01T00:00:00Z',
      data: {},
      dataVersion: '',
      metadataVersion: '1',
    },
  };
  assert.ok(matchesFilter({}, e));
  assert.ok(matchesFilter({ includedEventTypes: null }, e));
  assert.ok(matchesFilter({ includedEventTypes: ['microsoft.storage.blobcreated'] }, e));
  assert.ok(!matchesFilter({ includedEventTypes: ['Microsoft.Storage.BlobDeleted'] }, e));
  assert.ok(
    matchesFilter({ subjectBeginsWith: '/blobServices/default/containers/manifests/', subjectEndsWith: '.json' }, e),
  );
  assert.ok(!matchesFilter({ subjectEndsWith: '.json', isSubjectCaseSensitive: true }, e));
});

test('blob changes: overwrites are creations, metadata-only changes are not', () => {
  const v: BlobVersion = {
    name: 'a',
    etag: '0x1',
    createdOn: '2026-01-01T00:00:00.000Z',
    contentLength: 2,
    contentMd5: 'md5a',
    contentType: 'application/json',
    blobType: 'BlockBlob',
  };
  assert.equal(classifyChange(undefined, v)?.kind, 'created');
  assert.equal(classifyChange(v, v), undefined);
  assert.equal(classifyChange(v, { ...v, etag: '0x2' })?.kind, 'touched');
  assert.equal(classifyChange(v, { ...v, etag: '0x2', createdOn: '2026-01-01T00:00:01.000Z' })?.kind, 'created');
  assert.equal(classifyChange(v, { ...v, etag: '0x2', contentMd5: 'md5b' })?.kind, 'created');
  const append = { ...v, blobType: 'AppendBlob' };
  assert.equal(
    classifyChange(append, { ...append, etag: '0x2', contentLength: 9 })?.kind,
    'touched',
    'AppendBlock is not BlobCreated',
  );
  assert.equal(deterministicId('x'), deterministicId('x'));
  assert.notEqual(deterministicId('x'), deterministicId('y'));
  assert.ok(formatSequencer(10) < formatSequencer(11) && formatSequencer(255).length === 48);
});

test('SAS tokens: the SDK time format and signatures', () => {
  assert.equal(parseServiceTime('1/2/2026 12:05:09 AM'), Date.UTC(2026, 0, 2, 0, 5, 9));
  assert.equal(parseServiceTime('1/2/2026 12:05:09 PM'), Date.UTC(2026, 0, 2, 12, 5, 9));
  assert.equal(parseServiceTime('1/2/2026 1:05:09 PM'), Date.UTC(2026, 0, 2, 13, 5, 9));
  assert.deepEqual(authenticatePublisher({ sasKey: 'k', sasToken: undefined }, 'k', 0), { ok: true });
  assert.equal(authenticatePublisher({ sasKey: 'kk', sasToken: undefined }, 'k', 0).ok, false);
  assert.equal(authenticatePublisher({ sasKey: undefined, sasToken: 'r=a&e=b&s=c' }, 'k', 0).ok, false);
  assert.equal(authenticatePublisher({ sasKey: undefined, sasToken: undefined }, 'k', 0).ok, false);
});

test('schema conversion and publish validation', () => {
  const parsed = parseEventGridBatch(
    [{ id: '1', subject: 's', eventType: 'T', eventTime: '2026-01-01T00:00:00Z', data: { a: 1 }, dataVersion: '2' }],
    '/topic/default',
  );
  assert.ok(parsed.ok);
  const eg = parsed.events[0] as EventGridEvent;
  assert.equal(eg.topic, '/topic/default');
  const ce = convertTo('CloudEventSchemaV1_0', { schema: 'EventGridSchema', event: eg }, new Date());
  assert.deepEqual(ce.event, {
    specversion: '1.0',
    id: '1',
    source: '/topic/default',
    subject: 's',
    type: 'T',
    time: '2026-01-01T00:00:00Z',
    data: { a: 1 },
  });
  assert.equal(parseEventGridBatch({}, 't').ok, false);
  assert.equal(parseEventGridBatch([{ id: '1', subject: 's', eventType: 'T', eventTime: 'nope' }], 't').ok, false);
});

test('config: defaults, and errors that name the field', () => {
  const c = parseConfig({
    subscriptions: [{ name: 'abc', source: { type: 'topic' }, endpoint: 'http://127.0.0.1:7071/x' }],
  });
  assert.equal(c.pollIntervalMs, 100);
  assert.equal(c.retryTimeScale, 1);
  assert.deepEqual(c.subscriptions[0]?.retryPolicy, { maxDeliveryAttempts: 30, eventTimeToLiveMs: 24 * H });
  assert.equal(c.subscriptions[0]?.schema, 'EventGridSchema');
  assert.throws(
    () =>
      parseConfig({
        subscriptions: [{ name: 'abc', source: { type: 'container', name: 'X' }, endpoint: 'http://h/' }],
      }),
    /source/,
  );
  assert.throws(
    () =>
      parseConfig({
        subscriptions: [
          { name: 'abc', source: { type: 'topic' }, endpoint: 'http://h/' },
          { name: 'ABC', source: { type: 'topic' }, endpoint: 'http://h/' },
        ],
      }),
    /duplicate/,
  );
});

test('fan-out: per source, filtered, converted to each subscription’s schema', () => {
  const c = parseConfig({
    subscriptions: [
      { name: 'eg-sub', source: { type: 'topic' }, endpoint: 'http://h/a', filter: { subjectBeginsWith: '/vm/' } },
      { name: 'ce-sub', source: { type: 'topic' }, endpoint: 'http://h/b', schema: 'CloudEventSchemaV1_0' },
      { name: 'blob-sub', source: { type: 'container', name: 'manifests' }, endpoint: 'http://h/c' },
    ],
  });
  const event: EventGridEvent = {
    id: 'e1',
    topic: '/t',
    subject: '/vm/1',
    eventType: 'T',
    eventTime: '2026-01-01T00:00:00Z',
    data: {},
    dataVersion: '3',
    metadataVersion: '1',
  };
  const out = fanOut(c.subscriptions, 'topic', [{ schema: 'EventGridSchema', event }], new Date());
  assert.deepEqual(
    out.map((d) => [d.subscription, d.dataVersion, (JSON.parse(d.payload) as { specversion?: string }).specversion]),
    [
      ['eg-sub', '3', undefined],
      ['ce-sub', '', '1.0'],
    ],
  );
  assert.equal(
    fanOut(c.subscriptions, 'topic', [{ schema: 'EventGridSchema', event: { ...event, subject: '/x' } }], new Date())
      .length,
    1,
  );
  assert.equal(
    fanOut(c.subscriptions, 'container:other', [{ schema: 'EventGridSchema', event }], new Date()).length,
    0,
  );
});
