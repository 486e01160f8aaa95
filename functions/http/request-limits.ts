import { createApiError } from '../../shared/domain/api-errors.js';

// Limits on what one API request may carry, checked before a body is validated or stored, so that no request can
// make the store or a listing slow for everyone (one job with 200,000 environment variables used to stall the
// Cosmos emulator for minutes). Documented in docs/api-limits.md.

export const REQUEST_LIMITS = {
  /**
   * ARM accepts requests up to 4 MB but each resource definition up to 1 MB, and a Batch AI PUT body is one resource
   * definition (a few KB in practice). 1 MiB also keeps the stored document, secrets sealed (about 4/3 larger),
   * under Cosmos DB's 2 MB item limit.
   */
  bodyBytes: 1024 * 1024,
  /** Items in any array: environment variables, secrets, mounts, input/output directories, ... */
  arrayItems: 1_000,
  /** Characters in any string value (a command line, a mount command, an environment variable's value). */
  stringChars: 32 * 1024,
  /** Characters in an object key. */
  keyChars: 256,
  /** Nesting of objects and arrays; the deepest Batch AI body is about 8 levels. */
  depth: 32,
} as const;

/** 413 for a body over the size limit. */
export function checkBodySize(bytes: number): void {
  if (bytes > REQUEST_LIMITS.bodyBytes) {
    throw createApiError('RequestEntityTooLarge', { size: bytes, limit: REQUEST_LIMITS.bodyBytes });
  }
}

function tooMuch(path: string, reason: string) {
  return createApiError(
    'InvalidRequestBody',
    { reason: `${path || 'the body'} ${reason}` },
    { target: path || 'body' },
  );
}

/**
 * 400 naming the first place where a parsed body exceeds a limit. Iterative, so no nesting can overflow the stack.
 */
export function checkBodyLimits(body: unknown): void {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.length > REQUEST_LIMITS.stringChars) {
        throw tooMuch(path, `is longer than ${REQUEST_LIMITS.stringChars} characters`);
      }
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= REQUEST_LIMITS.depth) throw tooMuch(path, `nests deeper than ${REQUEST_LIMITS.depth} levels`);
    if (Array.isArray(value)) {
      if (value.length > REQUEST_LIMITS.arrayItems) {
        throw tooMuch(path, `has more than ${REQUEST_LIMITS.arrayItems} items (${value.length})`);
      }
      value.forEach((item, i) => {
        stack.push({ value: item, path: `${path}[${i}]`, depth: depth + 1 });
      });
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      if (key.length > REQUEST_LIMITS.keyChars) {
        throw tooMuch(path, `has a property name longer than ${REQUEST_LIMITS.keyChars} characters`);
      }
      stack.push({ value: child, path: path ? `${path}.${key}` : key, depth: depth + 1 });
    }
  }
}
