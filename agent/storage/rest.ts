import { createReadStream, createWriteStream } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { type StorageAuth, sharedKeyAuthorization } from './credentials.js';

// One small HTTP client for the Blob and Queue REST APIs. Keep-alive sockets, because the command loop polls
// several times a second and a new connection per poll would dominate job start latency.

const STORAGE_VERSION = '2021-12-02';
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 8 });

export interface StorageResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A storage call that answered with an unexpected status: carries Azure's error code for the message. */
export class StorageError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}${code ? ` ${code}` : ''}`);
  }
}

/** A request body streamed from a file (uploads never hold a whole file in the agent's memory). */
export interface FileBody {
  path: string;
  size: number;
}

export async function storageRequest(
  auth: StorageAuth,
  method: string,
  url: URL,
  options: {
    headers?: Record<string, string>;
    body?: Buffer | string | FileBody;
    /** Stream a 2xx response body into this file instead of memory (the response's body is then empty). */
    sinkPath?: string;
    timeoutMs?: number;
  } = {},
): Promise<StorageResponse> {
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  const length = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : body.size;
  const headers: Record<string, string> = {
    'x-ms-date': new Date().toUTCString(),
    'x-ms-version': STORAGE_VERSION,
    'content-length': String(length),
  };
  for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['authorization'] =
    auth.kind === 'sharedKey'
      ? sharedKeyAuthorization(auth.accountName, auth.accountKey, method, url, headers)
      : `Bearer ${await auth.token()}`;
  const https = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      url,
      { method, headers, agent: https ? httpsAgent : httpAgent, timeout: options.timeoutMs ?? 30_000 },
      (res) => {
        const status = res.statusCode ?? 0;
        if (options.sinkPath && status >= 200 && status < 300) {
          pipeline(res, createWriteStream(options.sinkPath)).then(
            () => resolve({ status, headers: res.headers, body: Buffer.alloc(0) }),
            reject,
          );
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
    req.on('error', reject);
    if (body === undefined || Buffer.isBuffer(body)) req.end(body);
    else pipeline(createReadStream(body.path, { start: 0, end: Math.max(0, body.size - 1) }), req).catch(reject);
  });
}

export function expectStatus(res: StorageResponse, ok: number[], what: string): StorageResponse {
  if (ok.includes(res.status)) return res;
  const code = (res.headers['x-ms-error-code'] as string | undefined) ?? xmlText(res.body.toString('utf8'), 'Code');
  throw new StorageError(res.status, code ?? '', what);
}

/** Joins an endpoint (which may carry a path, as Azurite's does) and path segments, each segment encoded. */
export function resourceUrl(endpoint: string, ...segments: string[]): URL {
  const base = endpoint.replace(/\/+$/, '');
  return new URL(`${base}/${segments.map((s) => s.split('/').map(encodeURIComponent).join('/')).join('/')}`);
}

// The XML the agent reads is small and flat (message lists, blob listings), so a few regular expressions do.
export function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? xmlUnescape(m[1] ?? '') : undefined;
}

export function xmlElements(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] ?? '');
}

export function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function xmlUnescape(text: string): string {
  return text.replace(
    /&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-fA-F]+));/g,
    (_, name: string, dec?: string, hex?: string) => {
      if (dec) return String.fromCodePoint(Number(dec));
      if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
      return { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }[name] ?? '';
    },
  );
}
