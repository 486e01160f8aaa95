// GET …/virtualMachineScaleSets/{name}/virtualMachines/{instanceId}
import type { Compute } from '../compute.js';
import { type HttpRequest, type HttpResponse, json } from '../http-types.js';
import { instanceStatuses, instanceView } from '../scale-set-model.js';
import { findInstance, type RouteParams } from './scale-set-lookup.js';

export function getInstance(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  const found = findInstance(c, p);
  if (!found.ok) return found.response;
  const expand = req.query.get('$expand')?.toLowerCase() === 'instanceview';
  return json(200, instanceView(found.value.ss, found.value.inst, expand));
}

/** GET …/virtualMachines/{instanceId}/instanceView */
export function getInstanceView(c: Compute, p: RouteParams): HttpResponse {
  const found = findInstance(c, p);
  if (!found.ok) return found.response;
  const view = instanceView(found.value.ss, found.value.inst, false) as {
    properties: { osProfile: { computerName: string } };
  };
  return json(200, {
    platformUpdateDomain: 0,
    platformFaultDomain: 0,
    computerName: view.properties.osProfile.computerName,
    statuses: instanceStatuses(found.value.inst),
  });
}
