import type { z } from 'zod';
import { type ApiErrorBody, apiErrorBody } from './api-errors.js';
import { issueToDetails } from './validation-issues.js';

// The envelope rules every PUT/PATCH body shares.
//
// Unknown property names inside `properties` are rejected (400, UnknownProperty, naming the field and suggesting the
// closest known name). The original service, like most of ARM, silently ignored them; but an ignored `procesCount` or
// `schedulingPriorty` runs a job differently from what its author asked, long after the PUT said yes, so we reject.
// Two exceptions keep ARM's round-trip habits working: read-only properties (what a GET returned) are accepted and
// ignored, and `null` means "not specified", as the service's JSON reader treated it. Top-level names outside
// `properties` (`id`, `name`, `type`, `$schema` of CLI job files...) are ignored, as ARM does.

export type Validation<T> = { ok: true; value: T } | { ok: false; error: ApiErrorBody };

export interface EnvelopeRules {
  /** Read-only property paths inside `properties` (relative to it) that a client may echo back from a GET. */
  readOnly: ReadonlyArray<readonly string[]>;
  /** Whether the body must contain `properties` (true for every PUT except experiments). */
  propertiesRequired: boolean;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function validatePropertiesBody<S extends z.ZodType>(
  body: unknown,
  schema: S,
  rules: EnvelopeRules,
): Validation<z.output<S>> {
  if (!isJsonObject(body)) {
    return fail([apiErrorBody('InvalidRequestBody', { reason: 'the body must be a JSON object' })]);
  }
  const raw = body['properties'];
  if (raw === undefined || raw === null) {
    if (rules.propertiesRequired) {
      return fail([apiErrorBody('MissingRequiredProperty', { target: 'properties' }, { target: 'properties' })]);
    }
  } else if (!isJsonObject(raw)) {
    return fail([
      apiErrorBody(
        'InvalidPropertyValue',
        { target: 'properties', reason: 'expected a JSON object' },
        { target: 'properties' },
      ),
    ]);
  }
  const properties = withoutReadOnly(withoutNulls(isJsonObject(raw) ? raw : {}), rules.readOnly);
  return parseWith(schema, properties, ['properties']);
}

/** Parses `input` with `schema`, reporting issues as targets under `prefix`. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: readonly PropertyKey[],
): Validation<z.output<S>> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  return fail(result.error.issues.flatMap((issue) => issueToDetails(issue, prefix, schema)));
}

/**
 * One error for the whole body: its message and target are those of the first problem, so a client that shows only
 * `error.message` still learns which field to fix; `details` lists every problem.
 */
export function fail(details: ApiErrorBody[]): { ok: false; error: ApiErrorBody } {
  const unique = dedupe(details);
  const first = unique[0] ?? apiErrorBody('InvalidRequestBody', { reason: 'the body is not valid' });
  const more =
    unique.length > 1 ? ` (${unique.length - 1} more problem${unique.length > 2 ? 's' : ''} in details)` : '';
  return {
    ok: false,
    error: apiErrorBody(
      'InvalidRequestBody',
      { reason: `${lowerFirst(first.message)}${more}` },
      first.target === undefined ? { details: unique } : { target: first.target, details: unique },
    ),
  };
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function dedupe(details: ApiErrorBody[]): ApiErrorBody[] {
  const seen = new Set<string>();
  return details.filter((d) => {
    const key = `${d.code}|${d.target ?? ''}|${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// Schemas are at most a few levels deep; anything deeper is left for the schema to reject rather than recursed into.
const MAX_DEPTH = 32;

/** Drops `null`-valued object members (not array elements), building fresh objects so `__proto__` keys stay data. */
export function withoutNulls(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => withoutNulls(v, depth + 1));
  if (!isJsonObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v, depth + 1)]),
  );
}

function withoutReadOnly(value: unknown, paths: EnvelopeRules['readOnly']): unknown {
  let out = value;
  for (const path of paths) out = removePath(out, path);
  return out;
}

function removePath(value: unknown, path: readonly string[]): unknown {
  const [head, ...rest] = path;
  if (head === undefined || !isJsonObject(value) || !Object.hasOwn(value, head)) return value;
  if (rest.length === 0) return Object.fromEntries(Object.entries(value).filter(([k]) => k !== head));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === head ? removePath(v, rest) : v]));
}
