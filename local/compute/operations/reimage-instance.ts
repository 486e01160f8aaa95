// POST …/virtualMachines/{instanceId}/reimage: the disk is wiped (a fresh OS disk), cloud-init runs again and the
// agent starts on the empty disk. The VM keeps its instance id and vmId, as on Azure.
import type { Compute } from '../compute.js';
import type { HttpRequest, HttpResponse } from '../http-types.js';
import { startInstanceAction } from './instance-action.js';
import type { RouteParams } from './scale-set-lookup.js';

export function reimageInstance(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  return startInstanceAction(c, req, p, 'reimage');
}
