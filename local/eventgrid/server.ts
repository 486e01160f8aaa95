// The HTTP listener: turns node:http requests into HttpRequest, runs the routes table, writes HttpResponse.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { errorResponse, type HttpRequest, type HttpResponse } from './http-types.js';
import { MAX_PUBLISH_BYTES } from './publish-events.js';
import { createRoutes, dispatch, type RouteHandlers } from './routes.js';

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    // Keep reading (and discarding) so the client gets the 413 instead of a reset connection.
    if (size <= limit) chunks.push(b);
  }
  return size > limit ? 'too-large' : Buffer.concat(chunks);
}

export async function listen(
  port: number,
  handlers: RouteHandlers,
  log: Logger,
): Promise<{ server: Server; port: number }> {
  const routes = createRoutes(handlers);
  const server = createServer((req, res) => {
    void (async () => {
      let response: HttpResponse;
      try {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const body = await readBody(req, MAX_PUBLISH_BYTES);
        if (body === 'too-large') {
          response = errorResponse(
            413,
            'RequestEntityTooLarge',
            `The request exceeds the ${MAX_PUBLISH_BYTES}-byte limit.`,
          );
        } else {
          const headers: Record<string, string | undefined> = {};
          for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          const request: HttpRequest = {
            method: req.method ?? 'GET',
            path: url.pathname,
            query: url.searchParams,
            headers,
            body,
          };
          response = dispatch(routes, request);
        }
      } catch (err) {
        log.error({ err }, 'request failed');
        response = errorResponse(500, 'InternalServerError', 'The emulator failed to process the request.');
      }
      const payload = response.body === undefined ? '' : JSON.stringify(response.body);
      res.writeHead(response.statusCode, {
        ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        'content-length': Buffer.byteLength(payload),
        ...response.headers,
      });
      res.end(payload);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Loopback only: the local stack never exposes its emulators.
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
