import type { Parsed } from './resource-id.js';

// `maxWallClockTime` is a TimeSpan in the service. On the wire the spec's examples use ISO 8601 ("P7D") while its
// `default` is written in .NET's TimeSpan form ("7.00:00:00"); clients generated from the spec send ISO 8601, people
// copying the spec's default send the other, so both are read and ISO 8601 is always written back.

const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;
const MS_PER_DAY = 24 * MS_PER_HOUR;
// .NET's TimeSpan.MaxValue, so every duration we accept can be read back by .NET clients.
const MAX_DAYS = 10_675_199;

const ISO = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/i;
const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/;

export const DEFAULT_MAX_WALL_CLOCK_TIME = 'P7D';

/** Duration in milliseconds, or why the text is not one. Zero and negative durations are rejected. */
export function parseDuration(text: string): Parsed<number> {
  const trimmed = text.trim();
  const ms = parseIso(trimmed) ?? parseTimeSpan(trimmed);
  if (ms === undefined) {
    const datePart = trimmed.split(/T/i)[0] ?? '';
    if (/^P/i.test(datePart) && /\d[YM]/i.test(datePart)) {
      return { ok: false, reason: 'years and months have no fixed length; use days (e.g. P30D)' };
    }
    return { ok: false, reason: `'${text}' is not an ISO 8601 duration such as P7D or PT2H30M` };
  }
  if (!Number.isFinite(ms) || ms <= 0) return { ok: false, reason: 'the duration must be greater than zero' };
  if (ms > MAX_DAYS * MS_PER_DAY) return { ok: false, reason: `the duration must not exceed ${MAX_DAYS} days` };
  return { ok: true, value: ms };
}

/** ISO 8601 in the form .NET's XmlConvert writes (P7D, PT1H30M, P1DT0.5S). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return 'PT0S';
  const days = Math.floor(ms / MS_PER_DAY);
  let rest = ms - days * MS_PER_DAY;
  const hours = Math.floor(rest / MS_PER_HOUR);
  rest -= hours * MS_PER_HOUR;
  const minutes = Math.floor(rest / MS_PER_MINUTE);
  rest -= minutes * MS_PER_MINUTE;
  const seconds = rest / MS_PER_SECOND;
  let out = 'P';
  if (days > 0) out += `${days}D`;
  if (hours > 0 || minutes > 0 || seconds > 0) {
    out += 'T';
    if (hours > 0) out += `${hours}H`;
    if (minutes > 0) out += `${minutes}M`;
    if (seconds > 0) out += `${Number(seconds.toFixed(3))}S`;
  }
  return out;
}

/** Canonical ISO 8601 form of any accepted duration text. */
export function normalizeDuration(text: string): Parsed<string> {
  const parsed = parseDuration(text);
  return parsed.ok ? { ok: true, value: formatDuration(parsed.value) } : parsed;
}

function parseIso(text: string): number | undefined {
  const m = ISO.exec(text);
  if (m === null || text.length <= 1 || /T$/i.test(text)) return undefined;
  const [, weeks, days, hours, minutes, seconds] = m;
  return (
    num(weeks) * 7 * MS_PER_DAY +
    num(days) * MS_PER_DAY +
    num(hours) * MS_PER_HOUR +
    num(minutes) * MS_PER_MINUTE +
    Math.round(num(seconds?.replace(',', '.')) * MS_PER_SECOND)
  );
}

function parseTimeSpan(text: string): number | undefined {
  const m = TIMESPAN.exec(text);
  if (m === null) return undefined;
  const [, days, hours, minutes, seconds, fraction] = m;
  if (num(hours) > 23 || num(minutes) > 59 || num(seconds) > 59) return undefined;
  return (
    num(days) * MS_PER_DAY +
    num(hours) * MS_PER_HOUR +
    num(minutes) * MS_PER_MINUTE +
    num(seconds) * MS_PER_SECOND +
    Math.round(Number(`0.${fraction ?? '0'}`) * MS_PER_SECOND)
  );
}

function num(text: string | undefined): number {
  return text === undefined ? 0 : Number(text);
}
