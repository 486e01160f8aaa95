// The subset of the Functions host admin API the local stack and developers use (master key required,
// as on Azure):
//   GET  /admin/functions          → [{ name, config: { bindings }, invoke_url_template, href, language, isDisabled }]
//   GET  /admin/functions/{name}   → one of those, 404 if unknown
//   POST /admin/functions/{name}   → body { "input": "…" }: runs a non-HTTP function once (as Azure's
//                                    "run a non HTTP-triggered function" endpoint); 202 Accepted
// The readiness endpoint /admin/host/status lives in host.ts (it has a loopback exemption).

import type { FunctionInvoker, HostLogger, RegisteredFunction, RpcTypedData } from './contracts.js';
import { emptyResponse, type HostRequest, type HostResponse, jsonResponse } from './http-types.js';
import { type HostKeys, presentedKey } from './keys.js';
import { timerInput } from './timer-trigger.js';

export const ADMIN_FUNCTIONS_PATH = '/admin/functions';

function bindingsOf(fn: RegisteredFunction): Record<string, unknown>[] {
  return Object.values(fn.bindings).map((b) => {
    const { properties: _properties, ...rest } = b;
    return rest;
  });
}

export function createAdminApi(deps: {
  functions: readonly RegisteredFunction[];
  invoker: FunctionInvoker;
  keys: HostKeys;
  baseUrl: () => string;
  routePrefix: string;
  log: HostLogger;
}) {
  const describe = (fn: RegisteredFunction) => {
    const b = fn.trigger.binding;
    const isHttp = b.type.toLowerCase() === 'httptrigger';
    const route = typeof b.route === 'string' && b.route !== '' ? b.route : fn.name;
    const prefix = deps.routePrefix === '' ? '' : `/${deps.routePrefix}`;
    return {
      name: fn.name,
      href: `${deps.baseUrl()}${ADMIN_FUNCTIONS_PATH}/${fn.name}`,
      invoke_url_template: isHttp ? `${deps.baseUrl()}${prefix}/${route.toLowerCase()}` : null,
      language: 'node',
      isDisabled: false,
      isDirect: false,
      isProxy: false,
      config: { bindings: bindingsOf(fn) },
    };
  };

  return async function handleAdmin(req: HostRequest): Promise<HostResponse> {
    if (!deps.keys.isMaster(presentedKey(req.headers, req.query))) return emptyResponse(401);
    const rest = req.path.slice(ADMIN_FUNCTIONS_PATH.length).replace(/^\/+|\/+$/g, '');
    if (rest === '') {
      if (req.method !== 'GET') return emptyResponse(405);
      return jsonResponse(200, deps.functions.map(describe));
    }
    const fn = deps.functions.find((f) => f.name.toLowerCase() === rest.toLowerCase());
    if (!fn) return emptyResponse(404);
    if (req.method === 'GET') return jsonResponse(200, describe(fn));
    if (req.method !== 'POST') return emptyResponse(405);
    const type = fn.trigger.binding.type.toLowerCase();
    if (type === 'httptrigger') return jsonResponse(400, { error: { message: 'Call HTTP functions on their route' } });
    let input = '';
    if (req.body.length > 0) {
      try {
        const body = JSON.parse(req.body.toString('utf8')) as { input?: unknown };
        input = typeof body.input === 'string' ? body.input : JSON.stringify(body.input ?? '');
      } catch {
        return jsonResponse(400, { error: { message: 'The body must be JSON: { "input": "…" }' } });
      }
    }
    const data: RpcTypedData = type === 'timertrigger' ? timerInput(false, undefined) : { string: input };
    void deps.invoker.invoke(fn.name, data, {}).then((r) => {
      if (!r.ok) deps.log.warn('Admin-invoked function failed', { functionName: fn.name, error: r.error.message });
    });
    return emptyResponse(202);
  };
}
