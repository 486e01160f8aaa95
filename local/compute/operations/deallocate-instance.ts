// POST …/virtualMachines/{instanceId}/deallocate: the agent gets SIGTERM (a guest shutdown), the VM keeps its disk
// and holds no cores until it is started again.
import type { Compute } from '../compute.js';
import type { HttpRequest, HttpResponse } from '../http-types.js';
import { startInstanceAction } from './instance-action.js';
import type { RouteParams } from './scale-set-lookup.js';

export function deallocateInstance(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  return startInstanceAction(c, req, p, 'deallocate');
}
