import { WRITE_ONLY_PROPERTY_NAMES } from './secrets.js';

const WRITE_ONLY = new Set<string>(WRITE_ONLY_PROPERTY_NAMES);

/**
 * A copy of `value` with every secret value replaced by `fn(secret)`: the write-only property names anywhere,
 * and `secrets[].value` (the only secret stored under a generic name). Used to seal secrets before they are
 * stored and to open them where a node needs them, with one rule for both directions.
 */
export function mapSecretValues<T>(value: T, fn: (secret: string) => string): T {
  const visit = (node: unknown, parentKey: string | undefined): unknown => {
    if (node === null || typeof node !== 'object') return node;
    if (Array.isArray(node)) {
      return node.map((item) => {
        if (parentKey === 'secrets' && item !== null && typeof item === 'object' && !Array.isArray(item)) {
          const record = item as Record<string, unknown>;
          const secret = record['value'];
          const mapped = visit(item, undefined) as Record<string, unknown>;
          return typeof secret === 'string' && secret !== '' ? { ...mapped, value: fn(secret) } : mapped;
        }
        return visit(item, undefined);
      });
    }
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      out[key] = WRITE_ONLY.has(key) && typeof child === 'string' && child !== '' ? fn(child) : visit(child, key);
    }
    return out;
  };
  return visit(value, undefined) as T;
}
