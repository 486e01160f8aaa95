// The neutral request/response shapes route handlers use, so they stay testable without a socket.
export interface HttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface HttpResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Event Grid's error body: { error: { code, message } }. */
export function errorResponse(statusCode: number, code: string, message: string): HttpResponse {
  return { statusCode, body: { error: { code, message } } };
}
