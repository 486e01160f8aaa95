import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatDuration, normalizeDuration, parseDuration } from '../../../shared/domain/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('ISO 8601 and .NET TimeSpan texts parse to milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['P7D', 7 * DAY],
    ['p1w', 7 * DAY],
    ['PT2H30M', 2.5 * HOUR],
    ['P1DT0.5S', DAY + 500],
    ['PT90M', 1.5 * HOUR],
    ['7.00:00:00', 7 * DAY],
    ['01:30:00', 1.5 * HOUR],
    ['1.02:03:04.5', DAY + 2 * HOUR + 3 * 60_000 + 4500],
  ];
  for (const [text, ms] of cases) assert.deepEqual(parseDuration(text), { ok: true, value: ms }, text);
});

test('durations are written the way XmlConvert writes TimeSpans', () => {
  assert.deepEqual(normalizeDuration('7.00:00:00'), { ok: true, value: 'P7D' });
  assert.deepEqual(normalizeDuration('PT90M'), { ok: true, value: 'PT1H30M' });
  assert.equal(formatDuration(DAY + 500), 'P1DT0.5S');
});

test('malformed, empty, zero, calendar-relative and huge durations are rejected with a reason', () => {
  for (const text of ['', 'P', 'PT', '7 days', 'P1Y', 'P1M', 'PT0S', '00:00:00', '-P1D', 'P99999999D', '1.25:00:00']) {
    const parsed = parseDuration(text);
    assert.equal(parsed.ok, false, text);
    if (!parsed.ok) assert.ok(parsed.reason.length > 0);
  }
  const calendar = parseDuration('P1M');
  assert.ok(!calendar.ok && /months/.test(calendar.reason));
});

test('format then parse gives back the same whole-millisecond duration (property-based)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10_000 * DAY }), (ms) => {
      assert.deepEqual(parseDuration(formatDuration(ms)), { ok: true, value: ms });
    }),
  );
});
