// Every HTTP entry point of the emulator, in one table.
import { errorResponse, type HttpRequest, type HttpResponse } from './http-types.js';

export interface RouteHandlers {
  health: () => HttpResponse;
  publish: (req: HttpRequest) => HttpResponse;
  confirmValidation: (subscription: string, code: string) => HttpResponse;
  subscriptions: () => HttpResponse;
}

interface Route {
  method: string;
  path: RegExp;
  handle: (req: HttpRequest, params: string[]) => HttpResponse;
}

export function createRoutes(h: RouteHandlers): Route[] {
  return [
    // Readiness for the stack supervisor: 200 once every watched container was listed once.
    { method: 'GET', path: /^\/health$/, handle: () => h.health() },
    // The custom topic endpoint (what EventGridPublisherClient posts to).
    { method: 'POST', path: /^\/api\/events$/, handle: (req) => h.publish(req) },
    // validationUrl of the SubscriptionValidationEvent: the "manual" handshake.
    {
      method: 'GET',
      path: /^\/eventsubscriptions\/([^/]+)\/validate$/,
      handle: (req, [name]) => h.confirmValidation(decodeURIComponent(name ?? ''), req.query.get('id') ?? ''),
    },
    // Diagnostics: subscriptions, whether validated, pending deliveries.
    { method: 'GET', path: /^\/api\/subscriptions$/, handle: () => h.subscriptions() },
  ];
}

export function dispatch(routes: Route[], req: HttpRequest): HttpResponse {
  let pathMatched = false;
  for (const r of routes) {
    const m = r.path.exec(req.path);
    if (!m) continue;
    pathMatched = true;
    if (r.method === req.method) return r.handle(req, m.slice(1));
  }
  return pathMatched
    ? errorResponse(405, 'MethodNotAllowed', `${req.method} is not supported on ${req.path}.`)
    : errorResponse(404, 'NotFound', `No route for ${req.path}.`);
}
