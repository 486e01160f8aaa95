// POST …/virtualMachines/{instanceId}/restart: the agent process is stopped and started again on the same disk.
import type { Compute } from '../compute.js';
import type { HttpRequest, HttpResponse } from '../http-types.js';
import { startInstanceAction } from './instance-action.js';
import type { RouteParams } from './scale-set-lookup.js';

export function restartInstance(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  return startInstanceAction(c, req, p, 'restart');
}
