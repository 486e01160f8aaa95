// The HTTP listener: node:http request → HttpRequest → the routes table → HttpResponse. Loopback only.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { armErrorResponse, armErrors } from './arm-errors.js';
import type { Compute } from './compute.js';
import type { HttpRequest, HttpResponse } from './http-types.js';
import { dispatch } from './routes.js';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size <= MAX_BODY_BYTES) chunks.push(b);
  }
  return size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks);
}

export async function listen(port: number, c: Compute, log: Logger): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    void (async () => {
      let response: HttpResponse;
      try {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const body = await readBody(req);
        if (body === 'too-large') {
          response = armErrorResponse(413, {
            code: 'RequestEntityTooLarge',
            message: 'The request body is too large.',
          });
        } else {
          const headers: Record<string, string | undefined> = {};
          for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          const request: HttpRequest = {
            method: req.method ?? 'GET',
            path: url.pathname,
            query: url.searchParams,
            headers,
            body,
            baseUrl: `http://${req.headers.host ?? `127.0.0.1:${port}`}`,
          };
          response = await dispatch(c, request);
        }
      } catch (err) {
        log.error({ err }, 'request failed');
        response = armErrorResponse(500, armErrors.internal());
      }
      const payload = response.body === undefined ? '' : JSON.stringify(response.body);
      res.writeHead(response.statusCode, {
        ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        'content-length': Buffer.byteLength(payload),
        'x-ms-request-id': crypto.randomUUID(),
        ...response.headers,
      });
      res.end(payload);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
