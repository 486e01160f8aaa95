// node:http ⇄ HostRequest/HostResponse. Listens on loopback only. The routing decision itself lives in
// host-routes.ts; this module only reads bodies, normalises headers and writes responses.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostLogger } from './contracts.js';
import type { HostRequest, HostResponse } from './http-types.js';

/** Azure's default request size limit for the Functions host. */
const MAX_BODY_BYTES = 100 * 1024 * 1024;

export type RequestHandler = (req: HostRequest) => Promise<HostResponse>;

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
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
        const body = await readBody(req);
        if (body === undefined) {
          writeResponse(res, { status: 413 });
          return;
        }
        writeResponse(res, await handler(toHostRequest(req, body, actualPort)));
      } catch (err) {
        log.error('Unhandled error serving a request', { url: req.url, error: (err as Error).message });
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
