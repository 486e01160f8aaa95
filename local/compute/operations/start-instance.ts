// POST …/virtualMachines/{instanceId}/start: a deallocated VM (e.g. a Spot VM evicted with evictionPolicy
// Deallocate) boots again on its disk, if the core quota allows; a running VM stays as it is.
import type { Compute } from '../compute.js';
import type { HttpRequest, HttpResponse } from '../http-types.js';
import { startInstanceAction } from './instance-action.js';
import type { RouteParams } from './scale-set-lookup.js';

export function startInstance(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  return startInstanceAction(c, req, p, 'start');
}
