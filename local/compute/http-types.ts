// The neutral request/response shapes the compute emulator's operations use, so they stay testable without a
// socket. Handlers may be async: an ARM write persists its records before it answers.
export interface HttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** Scheme and authority the client used (from the Host header): the base of nextLink and LRO URLs. */
  baseUrl: string;
}

export interface HttpResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export function json(statusCode: number, body: unknown, headers?: Record<string, string>): HttpResponse {
  return { statusCode, body, ...(headers ? { headers } : {}) };
}

/** Parses a JSON body; an empty body is `undefined` (the SDK sends none for e.g. reimage without input). */
export function parseJsonBody(req: HttpRequest): { ok: true; value: unknown } | { ok: false } {
  if (req.body.length === 0) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(req.body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}
