// The neutral request/response shape every HTTP surface of the host (function routes, webhooks,
// extensions, admin) works with; http-server.ts translates node:http to and from it.

export interface HostRequest {
  method: string;
  /** Decoded path without the query string, e.g. /api/jobs/42 */
  path: string;
  /** The raw (still percent-encoded) path, for route matching that must decode segments itself. */
  rawPath: string;
  query: URLSearchParams;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** The URL as the client addressed it, e.g. http://127.0.0.1:7071/api/jobs/42?x=1 */
  url: string;
  remoteAddress: string;
}

export interface HostResponse {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): HostResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(value),
  };
}

export function emptyResponse(status: number): HostResponse {
  return { status };
}
