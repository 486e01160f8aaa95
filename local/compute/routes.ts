// Every HTTP entry point of the compute emulator, in one table: the ARM Compute subset @azure/arm-compute uses for
// scale sets (under /subscriptions/…, bearer token and api-version required) and the local admin routes.
import { armErrorResponse, armErrors } from './arm-errors.js';
import type { Compute } from './compute.js';
import type { HttpRequest, HttpResponse } from './http-types.js';
import { createOrUpdateScaleSet } from './operations/create-or-update-scale-set.js';
import { deallocateInstance } from './operations/deallocate-instance.js';
import { deleteInstance, deleteInstancesAction } from './operations/delete-instances.js';
import { deleteScaleSet } from './operations/delete-scale-set.js';
import { getInstance, getInstanceView } from './operations/get-instance.js';
import { getOperation } from './operations/get-operation.js';
import { getScaleSet } from './operations/get-scale-set.js';
import { injectFault } from './operations/inject-fault.js';
import { listEvents } from './operations/list-events.js';
import { listInstances } from './operations/list-instances.js';
import { listScaleSets } from './operations/list-scale-sets.js';
import { listVms } from './operations/list-vms.js';
import { reimageInstance } from './operations/reimage-instance.js';
import { restartInstance } from './operations/restart-instance.js';
import type { RouteParams } from './operations/scale-set-lookup.js';
import { simulateEviction } from './operations/simulate-eviction.js';
import { startInstance } from './operations/start-instance.js';
import { updateScaleSet } from './operations/update-scale-set.js';

/**
 * The api-versions accepted: what the installed @azure/arm-compute sends (2026-03-01) and the GA versions a
 * hand-written client is likely to use. The emulator speaks one behaviour for all of them.
 */
export const SUPPORTED_API_VERSIONS = ['2024-07-01', '2024-11-01', '2025-04-01', '2026-03-01'] as const;

type Handler = (c: Compute, req: HttpRequest, m: string[]) => HttpResponse | Promise<HttpResponse>;

interface Route {
  method: string;
  path: RegExp;
  /** ARM routes need a bearer token and a supported api-version; local routes need neither. */
  arm: boolean;
  handle: Handler;
}

const SEG = '([^/]+)';
const VMSS = `^/subscriptions/${SEG}/resourceGroups/${SEG}/providers/Microsoft\\.Compute/virtualMachineScaleSets`;
const re = (pattern: string) => new RegExp(`${pattern}$`, 'i');
const params = (m: string[]): RouteParams => {
  const [subscriptionId = '', resourceGroup = '', name = '', instanceId] = m.map(decodeURIComponent);
  return { subscriptionId, resourceGroup, name, ...(instanceId !== undefined ? { instanceId } : {}) };
};

export const ROUTES: Route[] = [
  { method: 'GET', path: /^\/health$/, arm: false, handle: () => ({ statusCode: 200, body: { status: 'ok' } }) },
  // Scale sets
  {
    method: 'GET',
    path: re(`^/subscriptions/${SEG}/providers/Microsoft\\.Compute/virtualMachineScaleSets`),
    arm: true,
    handle: (c, req, [sub]) => listScaleSets(c, req, { subscriptionId: decodeURIComponent(sub ?? '') }),
  },
  {
    method: 'GET',
    path: re(VMSS),
    arm: true,
    handle: (c, req, m) => {
      const p = params(m);
      return listScaleSets(c, req, { subscriptionId: p.subscriptionId, resourceGroup: p.resourceGroup });
    },
  },
  {
    method: 'PUT',
    path: re(`${VMSS}/${SEG}`),
    arm: true,
    handle: (c, req, m) => createOrUpdateScaleSet(c, req, params(m)),
  },
  { method: 'GET', path: re(`${VMSS}/${SEG}`), arm: true, handle: (c, _req, m) => getScaleSet(c, params(m)) },
  { method: 'PATCH', path: re(`${VMSS}/${SEG}`), arm: true, handle: (c, req, m) => updateScaleSet(c, req, params(m)) },
  { method: 'DELETE', path: re(`${VMSS}/${SEG}`), arm: true, handle: (c, req, m) => deleteScaleSet(c, req, params(m)) },
  {
    method: 'POST',
    path: re(`${VMSS}/${SEG}/delete`),
    arm: true,
    handle: (c, req, m) => deleteInstancesAction(c, req, params(m)),
  },
  // Scale-set VMs
  {
    method: 'GET',
    path: re(`${VMSS}/${SEG}/virtualMachines`),
    arm: true,
    handle: (c, req, m) => listInstances(c, req, params(m)),
  },
  {
    method: 'GET',
    path: re(`${VMSS}/${SEG}/virtualMachines/${SEG}`),
    arm: true,
    handle: (c, req, m) => getInstance(c, req, params(m)),
  },
  {
    method: 'GET',
    path: re(`${VMSS}/${SEG}/virtualMachines/${SEG}/instanceView`),
    arm: true,
    handle: (c, _req, m) => getInstanceView(c, params(m)),
  },
  {
    method: 'DELETE',
    path: re(`${VMSS}/${SEG}/virtualMachines/${SEG}`),
    arm: true,
    handle: (c, req, m) => deleteInstance(c, req, params(m)),
  },
  {
    method: 'POST',
    path: re(`${VMSS}/${SEG}/virtualMachines/${SEG}/restart`),
    arm: true,
    handle: (c, req, m) => restartInstance(c, req, params(m)),
  },
  {
    method: 'POST',
    path: re(`${VMSS}/${SEG}/virtualMachines/${SEG}/reimage`),
    arm: true,
    handle: (c, req, m) => reimageInstance(c, req, params(m)),
  },
  {
    method: 'POST',
    path: re(`${VMSS}/${SEG}/virtualMachines/${SEG}/start`),
    arm: true,
    handle: (c, req, m) => startInstance(c, req, params(m)),
  },
  {
    method: 'POST',
    path: re(`${VMSS}/${SEG}/virtualMachines/${SEG}/deallocate`),
    arm: true,
    handle: (c, req, m) => deallocateInstance(c, req, params(m)),
  },
  {
    method: 'POST',
    path: re(`${VMSS}/${SEG}/virtualMachines/${SEG}/simulateEviction`),
    arm: true,
    handle: (c, req, m) => simulateEviction(c, req, params(m)),
  },
  // Long-running operations (Azure-AsyncOperation and, with ?monitor=true, Location)
  {
    method: 'GET',
    path: re(`^/subscriptions/${SEG}/providers/Microsoft\\.Compute/locations/${SEG}/operations/${SEG}`),
    arm: true,
    handle: (c, req, [, , id]) => getOperation(c, req, decodeURIComponent(id ?? '')),
  },
  // Local admin: VMs and their processes, fault injection, the event outbox
  { method: 'GET', path: /^\/admin\/vms$/, arm: false, handle: (c) => listVms(c) },
  {
    method: 'POST',
    path: /^\/admin\/vms\/([^/]+)\/([^/]+)\/faults$/,
    arm: false,
    handle: (c, req, [vmss, id]) => injectFault(c, req, decodeURIComponent(vmss ?? ''), decodeURIComponent(id ?? '')),
  },
  {
    method: 'GET',
    path: /^\/admin\/events$/,
    arm: false,
    handle: (c, req) => listEvents(c, Math.min(5000, Number(req.query.get('limit') ?? '1000') || 1000)),
  },
];

/** ARM's checks, in ARM's order: the token first, then the api-version. */
function armGate(req: HttpRequest): HttpResponse | undefined {
  const auth = req.headers.authorization;
  if (!auth) return armErrorResponse(401, armErrors.missingAuthorization(), { 'WWW-Authenticate': 'Bearer' });
  // Any token is accepted locally: the emulator checks that one is sent, not who sent it.
  if (!/^Bearer \S+/i.test(auth)) return armErrorResponse(401, armErrors.invalidAuthorization());
  const version = req.query.get('api-version');
  if (!version) return armErrorResponse(400, armErrors.missingApiVersion());
  if (!(SUPPORTED_API_VERSIONS as readonly string[]).includes(version))
    return armErrorResponse(400, armErrors.unsupportedApiVersion(version, SUPPORTED_API_VERSIONS));
  return undefined;
}

export async function dispatch(c: Compute, req: HttpRequest): Promise<HttpResponse> {
  let pathMatched = false;
  for (const route of ROUTES) {
    const m = route.path.exec(req.path);
    if (!m) continue;
    pathMatched = true;
    if (route.method !== req.method) continue;
    if (route.arm) {
      const refused = armGate(req);
      if (refused) return refused;
    }
    return route.handle(c, req, m.slice(1));
  }
  return pathMatched
    ? armErrorResponse(405, armErrors.methodNotAllowed(req.method, req.path))
    : armErrorResponse(404, armErrors.noRoute(req.method, req.path));
}
