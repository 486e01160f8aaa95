// HTTP-triggered functions: match `/<routePrefix>/<route>` against every function's route template and
// methods, check its authLevel key, hand the request to the invoker as RpcHttpData and turn the
// library's RPC response (status, headers, cookies, body bytes) back into an HTTP response.

import type { FunctionInvoker, HostLogger, RegisteredFunction } from './contracts.js';
import { functionsTriggeredBy } from './functions-triggered-by.js';
import { emptyResponse, type HostRequest, type HostResponse } from './http-types.js';
import { type AuthLevel, type HostKeys, presentedKey } from './keys.js';
import { type CompiledRoute, compileRoute } from './route-template.js';

interface HttpRoute {
  fn: RegisteredFunction;
  route: CompiledRoute;
  methods: Set<string> | undefined;
  authLevel: AuthLevel;
}

interface RpcNullable<T> {
  value?: T;
}

interface RpcHttpCookie {
  name: string;
  value: string;
  domain?: RpcNullable<string>;
  path?: RpcNullable<string>;
  expires?: RpcNullable<{ seconds?: number }>;
  secure?: RpcNullable<boolean>;
  httpOnly?: RpcNullable<boolean>;
  sameSite?: 'none' | 'lax' | 'strict' | 'explicitNone';
  maxAge?: RpcNullable<number>;
}

interface RpcHttpResponse {
  statusCode?: string | number;
  status?: string | number;
  headers?: Record<string, string>;
  cookies?: RpcHttpCookie[];
  body?: { bytes?: Uint8Array; string?: string };
}

export function routePrefixOf(hostJson: Record<string, unknown>): string {
  const http = (hostJson.extensions as Record<string, unknown> | undefined)?.http as
    | Record<string, unknown>
    | undefined;
  const prefix = typeof http?.routePrefix === 'string' ? http.routePrefix : 'api';
  return prefix.replace(/^\/+|\/+$/g, '');
}

export function toSetCookie(c: RpcHttpCookie): string {
  let s = `${c.name}=${c.value}`;
  if (c.domain?.value) s += `; Domain=${c.domain.value}`;
  if (c.path?.value) s += `; Path=${c.path.value}`;
  if (c.expires?.value?.seconds !== undefined) {
    s += `; Expires=${new Date(c.expires.value.seconds * 1000).toUTCString()}`;
  }
  if (c.maxAge?.value !== undefined) s += `; Max-Age=${Math.floor(c.maxAge.value)}`;
  if (c.secure?.value) s += '; Secure';
  if (c.httpOnly?.value) s += '; HttpOnly';
  if (c.sameSite === 'lax') s += '; SameSite=Lax';
  else if (c.sameSite === 'strict') s += '; SameSite=Strict';
  else if (c.sameSite === 'explicitNone') s += '; SameSite=None';
  return s;
}

export function createHttpTriggerDispatcher(deps: {
  functions: readonly RegisteredFunction[];
  invoker: FunctionInvoker;
  keys: HostKeys;
  routePrefix: string;
  log: HostLogger;
}) {
  const routes: HttpRoute[] = functionsTriggeredBy(deps.functions, 'httpTrigger')
    .map((fn) => {
      const b = fn.trigger.binding;
      const methods =
        Array.isArray(b.methods) && b.methods.length > 0 ? b.methods.map((m) => String(m).toUpperCase()) : undefined;
      return {
        fn,
        route: compileRoute(typeof b.route === 'string' && b.route !== '' ? b.route : fn.name),
        methods: methods ? new Set(methods) : undefined,
        authLevel: String(b.authLevel ?? 'anonymous').toLowerCase() as AuthLevel,
      };
    })
    .sort((a, b) => b.route.precedence - a.route.precedence);

  const prefixPath = deps.routePrefix === '' ? '' : `/${deps.routePrefix}`;

  return {
    routes,
    /** Whether a path belongs to the function routes (under the route prefix). */
    owns(path: string): boolean {
      return prefixPath === '' || path === prefixPath || path.toLowerCase().startsWith(`${prefixPath.toLowerCase()}/`);
    },
    async handle(req: HostRequest): Promise<HostResponse> {
      const routePath = req.rawPath.slice(prefixPath.length);
      for (const r of routes) {
        if (r.methods && !r.methods.has(req.method.toUpperCase())) continue;
        const params = r.route.match(routePath);
        if (!params) continue;
        if (!deps.keys.allowsFunction(r.fn.name, r.authLevel, presentedKey(req.headers, req.query))) {
          return emptyResponse(401);
        }
        return invokeHttpFunction(deps.invoker, deps.log, r.fn, req, params);
      }
      return emptyResponse(404);
    },
  };
}

async function invokeHttpFunction(
  invoker: FunctionInvoker,
  log: HostLogger,
  fn: RegisteredFunction,
  req: HostRequest,
  params: Record<string, string>,
): Promise<HostResponse> {
  // `query` is left out on purpose: the library then reads it from the URL, keeping repeated parameters.
  const http = {
    method: req.method.toUpperCase(),
    url: req.url,
    headers: req.headers,
    params,
    body: { bytes: req.body },
  };
  // Route parameters and query values are available to binding expressions, as on Azure.
  const triggerMetadata: Record<string, { string: string }> = {};
  for (const [k, v] of req.query) triggerMetadata[k] = { string: v };
  for (const [k, v] of Object.entries(params)) triggerMetadata[k] = { string: v };

  const result = await invoker.invoke(fn.name, { http }, triggerMetadata);
  if (!result.ok) {
    log.error('HTTP function failed', { functionName: fn.name, error: result.error.message });
    return emptyResponse(500);
  }
  const rpc = result.returnValue?.http as RpcHttpResponse | undefined;
  if (!rpc) return emptyResponse(204);
  const status = Number(rpc.statusCode ?? rpc.status ?? 200) || 200;
  const headers: Record<string, string | string[]> = { ...(rpc.headers ?? {}) };
  const cookies = (rpc.cookies ?? []).map(toSetCookie);
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const body =
    rpc.body?.bytes !== undefined
      ? Buffer.from(rpc.body.bytes)
      : rpc.body?.string !== undefined
        ? Buffer.from(rpc.body.string)
        : undefined;
  return { status, headers, ...(body !== undefined ? { body } : {}) };
}
