// node:http ⇄ HostRequest/HostResponse. Listens on loopback only. The routing decision itself lives in
// host-routes.ts; this module only reads bodies, normalises headers and writes responses.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostLogger } from './contracts.js';
import { type HostRequest, type HostResponse, jsonResponse } from './http-types.js';

/** Azure's default request size limit for the Functions host. */
const MAX_BODY_BYTES = 100 * 1024 * 1024;
/** A body that stops arriving for this long is incomplete (e.g. a Content-Length larger than what was sent). */
const BODY_IDLE_MS = 5_000;
/** An oversized body is read and discarded up to this much, so the client gets its 413 instead of a reset. */
const MAX_DRAIN_BYTES = 2 * MAX_BODY_BYTES;

export type RequestHandler = (req: HostRequest) => Promise<HostResponse>;

type BodyRead = { ok: true; body: Buffer } | { ok: false; response: HostResponse; thenClose: boolean };

function refused(status: number, code: string, message: string): HostResponse {
  return jsonResponse(status, { error: { code, message } }, { connection: 'close' });
}

function readBody(req: IncomingMessage): Promise<BodyRead | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let settled = false;
    const finish = (result: BodyRead | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      resolve(result);
    };
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    const tooLargeResponse = () =>
      refused(413, 'RequestEntityTooLarge', `The request body exceeds the host's limit of ${MAX_BODY_BYTES} bytes.`);
    // Declared too large and more than we would drain: answer now and close.
    if (declared > MAX_DRAIN_BYTES) {
      req.resume();
      resolve({ ok: false, response: tooLargeResponse(), thenClose: true });
      return;
    }
    let idle = setTimeout(onIdle, BODY_IDLE_MS);
    function onIdle() {
      finish({
        ok: false,
        response: refused(
          400,
          'IncompleteRequestBody',
          'The request body ended before its Content-Length (nothing arrived for 5 s).',
        ),
        thenClose: true,
      });
    }
    req.on('data', (c: Buffer) => {
      clearTimeout(idle);
      idle = setTimeout(onIdle, BODY_IDLE_MS);
      size += c.length;
      if (size > MAX_DRAIN_BYTES) {
        finish({ ok: false, response: tooLargeResponse(), thenClose: true });
        return;
      }
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      if (!tooLarge) chunks.push(c);
    });
    req.on('end', () =>
      finish(
        tooLarge
          ? { ok: false, response: tooLargeResponse(), thenClose: false }
          : { ok: true, body: Buffer.concat(chunks) },
      ),
    );
    // The client went away before sending everything: there is no one to answer.
    req.on('aborted', () => finish(undefined));
    req.on('error', () => finish(undefined));
  });
}

function toHostRequest(req: IncomingMessage, body: Buffer, port: number): HostRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(k.toLowerCase() === 'cookie' ? '; ' : ', ') : v;
  }
  const host = headers.host ?? `127.0.0.1:${port}`;
  const url = new URL(req.url ?? '/', `http://${host}`);
  let path = url.pathname;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    // keep the raw path; route matching will not find it
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path,
    rawPath: url.pathname,
    query: url.searchParams,
    headers,
    body,
    url: url.href,
    remoteAddress: req.socket.remoteAddress ?? '',
  };
}

function writeResponse(res: ServerResponse, r: HostResponse): void {
  for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
  res.statusCode = r.status;
  if (r.body === undefined) res.setHeader('content-length', '0');
  res.end(r.body);
}

export interface HostHttpServer {
  server: Server;
  port: number;
  /** Stops accepting connections and closes idle ones; resolves when all are closed. */
  close(): Promise<void>;
}

export async function startHttpServer(
  port: number,
  handler: RequestHandler,
  log: HostLogger,
  host = '127.0.0.1',
): Promise<HostHttpServer> {
  let actualPort = port;
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const read = await readBody(req);
        if (read === undefined) {
          res.destroy();
          return;
        }
        if (!read.ok) {
          writeResponse(res, read.response);
          if (read.thenClose) res.on('finish', () => req.socket.destroySoon());
          return;
        }
        writeResponse(res, await handler(toHostRequest(req, read.body, actualPort)));
      } catch (err) {
        log.error('Unhandled error serving a request', {
          // A function key may be in the query (?code=): never in a log line.
          url: (req.url ?? '').replace(/([?&]code=)[^&]*/gi, '$1***'),
          error: (err as Error).message,
        });
        if (!res.headersSent) writeResponse(res, { status: 500 });
        else res.destroy();
      }
    })();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  actualPort = (server.address() as AddressInfo).port;
  return {
    server,
    port: actualPort,
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still open after a grace period are cut (stop() already drained invocations).
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      });
    },
  };
}
