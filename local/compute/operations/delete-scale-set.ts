// DELETE …/virtualMachineScaleSets/{name}: 202 + LRO; every VM is stopped and its disk removed, then the record.
import { scaleSetId, scaleSetKey } from '../arm-ids.js';
import type { Compute } from '../compute.js';
import type { HttpRequest, HttpResponse } from '../http-types.js';
import type { OperationRecord } from '../store.js';
import type { RouteParams } from './scale-set-lookup.js';

export function deleteScaleSet(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  const ss = c.store.getScaleSet(scaleSetKey(p));
  if (!ss) return { statusCode: 204 };
  const deleting = { ...ss, provisioningState: 'Deleting' as const };
  const op = c.newOperation(deleting, 'deleteScaleSet', req, {
    kind: 'Delete',
    resourceUri: scaleSetId(p),
    operationName: 'Microsoft.Compute/virtualMachineScaleSets/delete',
  });
  c.store.transaction(() => {
    c.store.putScaleSet(deleting);
    c.store.putOperation(op);
  });
  c.launch(op, ss.resourceGroup, finishScaleSetDelete(c, op));
  return { statusCode: 202, headers: c.lroHeaders(req, op, true) };
}

export function finishScaleSetDelete(c: Compute, op: OperationRecord) {
  return async () => {
    const ss = c.store.getScaleSet(op.scaleSetKey);
    if (!ss) return undefined;
    await Promise.all(c.store.listInstances(ss.key).map((i) => c.remove(ss, i.instanceId)));
    if (!c.isStopping) c.store.deleteScaleSet(ss.key);
    return undefined;
  };
}
