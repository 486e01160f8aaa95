// Binding expressions in binding settings such as `path: 'results/{jobId}/{rand-guid}.json'`: values come
// from the trigger metadata (e.g. `{queueTrigger}`, a blob trigger's `{name}`) and from the top-level
// properties of a JSON trigger payload, matched case-insensitively as the Functions host does.

import { randomUUID } from 'node:crypto';
import type { RpcTypedData } from './contracts.js';

export function rpcToValue(data: RpcTypedData | undefined): unknown {
  if (!data) return undefined;
  if (data.string !== undefined) return data.string;
  if (data.json !== undefined) {
    try {
      return JSON.parse(data.json);
    } catch {
      return data.json;
    }
  }
  if (data.int !== undefined) return data.int;
  if (data.double !== undefined) return data.double;
  if (data.bytes !== undefined) return Buffer.from(data.bytes).toString('utf8');
  return undefined;
}

function tryParseObject(value: unknown): Record<string, unknown> | undefined {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function bindingValues(
  triggerData: RpcTypedData,
  triggerMetadata: Record<string, RpcTypedData>,
): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const [k, v] of Object.entries(triggerMetadata)) values.set(k.toLowerCase(), rpcToValue(v));
  // As in the WebJobs SDK, properties of a JSON payload override built-in metadata of the same name
  // (a queue message {"id": …} wins over the message's Id).
  const payload = tryParseObject(rpcToValue(triggerData));
  for (const [k, v] of Object.entries(payload ?? {})) values.set(k.toLowerCase(), v);
  return values;
}

function utcStamp(): string {
  return new Date()
    .toISOString()
    .replace(/[:]/g, '-')
    .replace(/\.\d+Z$/, 'Z');
}

/** Replaces `{expr}` tokens; throws naming the missing parameter, like the host's binding error. */
export function resolveBindingExpression(template: string, values: Map<string, unknown>): string {
  return template.replace(/\{([^{}]+)\}/g, (_m, raw: string) => {
    const expr = raw.trim();
    const lower = expr.toLowerCase();
    if (lower === 'rand-guid' || lower === 'sys.randguid') return randomUUID();
    if (lower === 'datetime' || lower === 'sys.utcnow') return utcStamp();
    // Dotted paths into a JSON payload: {data.id}
    const [head, ...rest] = expr.split('.');
    let v: unknown = values.get((head ?? '').toLowerCase());
    for (const part of rest) {
      v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    }
    if (v === undefined || v === null || typeof v === 'object') {
      throw new Error(`No value for named parameter '${expr}' in binding expression '${template}'`);
    }
    return String(v);
  });
}
