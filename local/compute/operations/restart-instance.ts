// POST …/virtualMachines/{instanceId}/restart: the agent process is stopped and started again on the same disk.
import { armErrorResponse, armErrors } from '../arm-errors.js';
import { instanceResourceId } from '../arm-ids.js';
import type { Compute } from '../compute.js';
import type { HttpRequest, HttpResponse } from '../http-types.js';
import type { OperationRecord } from '../store.js';
import { conflict, findInstance, type RouteParams } from './scale-set-lookup.js';

export function restartInstance(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  return startInstanceAction(c, req, p, 'restart');
}

/** Shared by restart and reimage: the checks ARM makes, the operation, the LRO answer. */
export function startInstanceAction(
  c: Compute,
  req: HttpRequest,
  p: RouteParams,
  action: 'restart' | 'reimage',
): HttpResponse {
  const found = findInstance(c, p);
  if (!found.ok) return found.response;
  const { ss, inst } = found.value;
  if (inst.powerState === 'deallocated') return armErrorResponse(409, armErrors.deallocatedVm(action));
  if (inst.provisioningState === 'Deleting' || ss.provisioningState === 'Deleting')
    return armErrorResponse(409, conflict(`The VM '${inst.name}' is being deleted.`));
  const op = c.newOperation(
    ss,
    action === 'restart' ? 'restartInstance' : 'reimageInstance',
    req,
    {
      kind: 'Action',
      resourceUri: instanceResourceId(p, inst.instanceId),
      operationName: `Microsoft.Compute/virtualMachineScaleSets/virtualMachines/${action}/action`,
    },
    [inst.instanceId],
  );
  c.store.putOperation(op);
  c.launch(op, ss.resourceGroup, finishInstanceAction(c, op));
  return { statusCode: 202, headers: c.lroHeaders(req, op, true) };
}

/** Stop, (wipe the disk for a reimage,) boot again after the boot delay. */
export function finishInstanceAction(c: Compute, op: OperationRecord) {
  return async () => {
    const ss = c.store.getScaleSet(op.scaleSetKey);
    const id = op.instanceIds[0];
    if (!ss || id === undefined) return undefined;
    return c.serial(c.vmKey(ss.key, id), async () => {
      const inst = c.store.getInstance(ss.key, id);
      if (!inst || inst.provisioningState === 'Deleting') return undefined;
      inst.powerState = 'stopping';
      c.setAvailability(
        ss,
        inst,
        'Unavailable',
        op.kind === 'restartInstance' ? [c.annotationEvent(ss, inst, 'VirtualMachineRestarted')] : [],
      );
      await c.stopNow(ss, id);
      if (op.kind === 'reimageInstance') await c.wipeDisk(ss, id);
      return c.bootNow(ss.key, id, true);
    });
  };
}
