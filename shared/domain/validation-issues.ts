import type { z } from 'zod';
import { type ApiErrorBody, apiErrorBody } from './api-errors.js';
import type { IssueParams } from './schema-primitives.js';
import { TOOLKIT_PROPERTIES } from './toolkit-schema.js';

// Turns zod issues into ARM error details. Messages are built from the issue's data (never from zod's English text),
// so they stay stable across zod versions and always name the field as the client wrote it.

type Issue = z.core.$ZodIssue;

// Names the 2018-03-01 API used, which clients upgrading (and the spec's own PutJob example) still send.
const RENAMED: Readonly<Record<string, string>> = { priority: 'schedulingPriority' };

/** `properties.mountVolumes.azureFileShares[0].credentials` */
export function formatTarget(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

export function issueToDetails(issue: Issue, prefix: readonly PropertyKey[], root: z.ZodType): ApiErrorBody[] {
  const path = [...prefix, ...issue.path];
  const target = formatTarget(path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(root, issue.path);
      return issue.keys.map((key) => {
        const suggestion = RENAMED[key] ?? closest(key, known);
        const hint = suggestion === undefined ? '' : ` Did you mean '${suggestion}'?`;
        return apiErrorBody(
          'UnknownProperty',
          { target: formatTarget([...path, key]), hint },
          {
            target: formatTarget([...path, key]),
          },
        );
      });
    }
    case 'invalid_type':
      if (issue.input === undefined) return [apiErrorBody('MissingRequiredProperty', { target }, { target })];
      return [invalid(target, `expected ${describeExpected(issue.expected)}, got ${describeValue(issue.input)}`)];
    case 'too_small':
      return [invalid(target, describeBound('at least', issue.origin, issue.minimum, issue.inclusive !== false))];
    case 'too_big':
      return [invalid(target, describeBound('at most', issue.origin, issue.maximum, issue.inclusive !== false))];
    case 'invalid_value':
      return [
        invalid(
          target,
          `${describeValue(issue.input)} is not one of ${issue.values.map((v) => `'${String(v)}'`).join(', ')}`,
        ),
      ];
    case 'invalid_format':
      return [
        invalid(target, issue.pattern === undefined ? `not a valid ${issue.format}` : `must match ${issue.pattern}`),
      ];
    case 'custom':
      return [customDetail(issue.params as IssueParams | undefined, target)];
    default:
      return [invalid(target, 'the value is not allowed here')];
  }
}

function customDetail(params: IssueParams | undefined, target: string): ApiErrorBody {
  const reason = params?.reason ?? 'the value is not allowed here';
  switch (params?.apiCode) {
    case 'InvalidResourceId':
      return apiErrorBody(
        'InvalidResourceId',
        { target, expected: params.expected ?? 'a resource', reason },
        { target },
      );
    case 'InvalidToolkitSettings':
      return apiErrorBody(
        'InvalidToolkitSettings',
        { target, toolkits: TOOLKIT_PROPERTIES.join(', '), reason },
        { target },
      );
    default:
      return invalid(target, reason);
  }
}

function invalid(target: string, reason: string): ApiErrorBody {
  return apiErrorBody('InvalidPropertyValue', { target, reason }, { target });
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'object':
      return 'a JSON object';
    case 'array':
      return 'a JSON array';
    default:
      return `a ${expected}`;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return value.length > 80 ? `'${value.slice(0, 77)}...'` : `'${value}'`;
    case 'number':
      return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

function describeBound(word: 'at least' | 'at most', origin: string, bound: number | bigint, inclusive: boolean) {
  const n = Number(bound);
  switch (origin) {
    case 'string':
      return word === 'at least' && n === 1 ? 'must not be empty' : `must be ${word} ${n} characters long`;
    case 'array':
      return `must have ${word} ${n} items`;
    case 'object':
      return `must have ${word} ${n} entries`;
    default: {
      const op = word === 'at least' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
      return `must be ${op} ${n}`;
    }
  }
}

/** Keys the object schema at `path` declares, for "did you mean" hints. */
export function knownKeysAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = root;
  for (const part of path) {
    node = unwrap(node);
    const def = defOf(node);
    if (def?.type === 'object' && typeof part === 'string') node = (def.shape as Record<string, unknown>)[part];
    else if (def?.type === 'array' && typeof part === 'number') node = def.element;
    else return [];
  }
  const def = defOf(unwrap(node));
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

interface LooseDef {
  type?: string;
  shape?: unknown;
  element?: unknown;
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
}

function defOf(schema: unknown): LooseDef | undefined {
  return (schema as { _zod?: { def?: LooseDef } } | undefined)?._zod?.def;
}

function unwrap(schema: unknown): unknown {
  let node = schema;
  for (let i = 0; i < 20; i++) {
    const def = defOf(node);
    if (def === undefined) return node;
    if (def.innerType !== undefined) node = def.innerType;
    else if (def.type === 'pipe') node = defOf(def.in)?.type === 'transform' ? def.out : def.in;
    else return node;
  }
  return node;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 4)) + 1;
  for (const candidate of candidates) {
    const d = candidate.toLowerCase() === lower ? 0 : levenshtein(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Number.POSITIVE_INFINITY;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? Number.POSITIVE_INFINITY;
}
