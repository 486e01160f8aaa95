// DELETE …/virtualMachineScaleSets/{name}: 202 + LRO; every VM is stopped and its disk removed, then the record.
import { scaleSetId, scaleSetKey } from '../arm-ids.js';
import type { Compute } from '../compute.js';
import type { HttpRequest, HttpResponse } from '../http-types.js';
import { removeVm } from '../remove-vm.js';
import { lroHeaders, newOperation, runOperation } from '../run-operation.js';
import type { OperationRecord } from '../store.js';
import type { RouteParams } from './scale-set-lookup.js';

export function deleteScaleSet(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  const ss = c.store.getScaleSet(scaleSetKey(p));
  if (!ss) return { statusCode: 204 };
  const deleting = { ...ss, provisioningState: 'Deleting' as const };
  const op = newOperation(c, deleting, 'deleteScaleSet', req, {
    kind: 'Delete',
    resourceUri: scaleSetId(p),
    operationName: 'Microsoft.Compute/virtualMachineScaleSets/delete',
  });
  c.store.transaction(() => {
    c.store.putScaleSet(deleting);
    c.store.putOperation(op);
  });
  runOperation(c, op, ss.resourceGroup, finishScaleSetDelete(c, op));
  return { statusCode: 202, headers: lroHeaders(c, req, op, true) };
}

export function finishScaleSetDelete(c: Compute, op: OperationRecord) {
  return async () => {
    const ss = c.store.getScaleSet(op.scaleSetKey);
    if (!ss) return undefined;
    await Promise.all(c.store.listInstances(ss.key).map((i) => removeVm(c, ss, i.instanceId)));
    if (!c.isStopping) c.store.deleteScaleSet(ss.key);
    return undefined;
  };
}
