// NCRONTAB schedules as the Functions timer trigger reads them: `{second} {minute} {hour} {day} {month}
// {day-of-week}` (a 5-field expression means second 0), or a TimeSpan `hh:mm:ss` for a fixed interval.
// Fields accept `*`, `n`, `a-b`, lists `a,b`, steps `*/n`, `a-b/n`, `a/n`, and month/day names.
// Times are UTC. Like NCrontab, day-of-month and day-of-week must both match.

import { parseTimeSpanMs } from './queue-settings.js';

export interface Schedule {
  /** The first occurrence strictly after `after`; undefined if none within 10 years. */
  next(after: Date): Date | undefined;
  readonly expression: string;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesOffset?: number;
}

const FIELDS: FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesOffset: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: DAYS, namesOffset: 0 },
];

function parseValue(text: string, spec: FieldSpec, expression: string): number {
  const lower = text.toLowerCase();
  const named = spec.names?.findIndex((n) => lower.startsWith(n) && lower.length >= 3) ?? -1;
  if (named >= 0 && /^[a-z]+$/.test(lower)) return named + (spec.namesOffset ?? 0);
  if (!/^\d+$/.test(text)) throw new Error(`Invalid ${spec.name} value "${text}" in schedule "${expression}"`);
  const v = Number(text);
  if (v < spec.min || v > spec.max) {
    throw new Error(`The ${spec.name} value ${v} is out of range ${spec.min}-${spec.max} in schedule "${expression}"`);
  }
  return v;
}

function parseField(text: string, spec: FieldSpec, expression: string): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [rangeText, stepText, extra] = part.split('/');
    if (extra !== undefined || rangeText === undefined || rangeText === '') {
      throw new Error(`Invalid ${spec.name} field "${text}" in schedule "${expression}"`);
    }
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step <= 0) {
      throw new Error(`Invalid step "${stepText}" in the ${spec.name} field of schedule "${expression}"`);
    }
    let lo: number;
    let hi: number;
    if (rangeText === '*') {
      lo = spec.min;
      hi = spec.name === 'day-of-week' ? 6 : spec.max;
    } else if (rangeText.includes('-')) {
      const [a, b] = rangeText.split('-');
      lo = parseValue(a ?? '', spec, expression);
      hi = parseValue(b ?? '', spec, expression);
      if (hi < lo)
        throw new Error(`Invalid range "${rangeText}" in the ${spec.name} field of schedule "${expression}"`);
    } else {
      lo = parseValue(rangeText, spec, expression);
      hi = stepText === undefined ? lo : spec.name === 'day-of-week' ? 6 : spec.max;
    }
    for (let v = lo; v <= hi; v += step) values.add(spec.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return values;
}

const TEN_YEARS_MS = 10 * 366 * 24 * 3600 * 1000;

export function parseSchedule(expression: string): Schedule {
  const trimmed = expression.trim();
  const interval = /^\d/.test(trimmed) && trimmed.includes(':') ? parseTimeSpanMs(trimmed) : undefined;
  if (interval !== undefined) {
    if (interval <= 0) throw new Error(`The TimeSpan schedule "${expression}" must be positive`);
    return { expression, next: (after) => new Date(after.getTime() + interval) };
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length === 5) parts.unshift('0');
  if (parts.length !== 6) {
    throw new Error(
      `Invalid NCRONTAB schedule "${expression}": expected 6 fields "{second} {minute} {hour} {day} {month} {day-of-week}"`,
    );
  }
  const [sec, min, hour, day, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]!, expression)) as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];

  return {
    expression,
    next(after) {
      const limit = after.getTime() + TEN_YEARS_MS;
      const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
      while (t.getTime() <= limit) {
        if (!month.has(t.getUTCMonth() + 1)) {
          t.setUTCMonth(t.getUTCMonth() + 1, 1);
          t.setUTCHours(0, 0, 0, 0);
        } else if (!day.has(t.getUTCDate()) || !dow.has(t.getUTCDay())) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0, 0, 0);
        } else if (!hour.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
        } else if (!min.has(t.getUTCMinutes())) {
          t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
        } else if (!sec.has(t.getUTCSeconds())) {
          t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
        } else {
          return new Date(t.getTime());
        }
      }
      return undefined;
    },
  };
}
