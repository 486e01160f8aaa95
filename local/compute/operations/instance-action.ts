// The VM actions that are long-running operations on one VM — restart, reimage, start, deallocate: ARM's checks,
// the operation and its LRO answer, and the continuation that acts on the VM's process.
import { armErrorResponse, armErrors } from '../arm-errors.js';
import { instanceResourceId } from '../arm-ids.js';
import { bootVmNow } from '../boot-vm.js';
import type { Compute } from '../compute.js';
import type { HttpRequest, HttpResponse } from '../http-types.js';
import { checkCoreQuota, coresInUse } from '../quota.js';
import { stopVmNow, wipeDisk } from '../remove-vm.js';
import { type Continuation, lroHeaders, newOperation, runOperation } from '../run-operation.js';
import type { OperationRecord } from '../store.js';
import { conflict, findInstance, type RouteParams } from './scale-set-lookup.js';

export type InstanceAction = 'restart' | 'reimage' | 'start' | 'deallocate';

const KIND: Record<InstanceAction, OperationRecord['kind']> = {
  restart: 'restartInstance',
  reimage: 'reimageInstance',
  start: 'startInstance',
  deallocate: 'deallocateInstance',
};

export function startInstanceAction(
  c: Compute,
  req: HttpRequest,
  p: RouteParams,
  action: InstanceAction,
): HttpResponse {
  const found = findInstance(c, p);
  if (!found.ok) return found.response;
  const { ss, inst } = found.value;
  if (inst.provisioningState === 'Deleting' || ss.provisioningState === 'Deleting')
    return armErrorResponse(409, conflict(`The VM '${inst.name}' is being deleted.`));
  if ((action === 'restart' || action === 'reimage') && inst.powerState === 'deallocated')
    return armErrorResponse(409, armErrors.deallocatedVm(action));
  if (action === 'start' && inst.powerState === 'deallocated') {
    // A deallocated VM holds no cores: starting it allocates them again.
    const quota = checkCoreQuota({
      limit: c.settings.coreQuota,
      usage: coresInUse(c.allocatedVms()),
      vmSize: inst.vmSize,
      newVms: 1,
    });
    if (!quota.ok) return armErrorResponse(409, armErrors.coreQuotaExceeded({ location: ss.location, ...quota }));
  }
  const op = newOperation(
    c,
    ss,
    KIND[action],
    req,
    {
      kind: 'Action',
      resourceUri: instanceResourceId(p, inst.instanceId),
      operationName: `Microsoft.Compute/virtualMachineScaleSets/virtualMachines/${action}/action`,
    },
    [inst.instanceId],
  );
  c.store.putOperation(op);
  runOperation(c, op, ss.resourceGroup, finishInstanceAction(c, op));
  return { statusCode: 202, headers: lroHeaders(c, req, op, true) };
}

/** restart: stop, boot. reimage: stop, wipe the disk, boot. start: boot a deallocated VM. deallocate: stop. */
export function finishInstanceAction(c: Compute, op: OperationRecord): Continuation {
  return async () => {
    const ss = c.store.getScaleSet(op.scaleSetKey);
    const id = op.instanceIds[0];
    if (!ss || id === undefined) return undefined;
    return c.serial(c.vmKey(ss.key, id), async () => {
      const inst = c.store.getInstance(ss.key, id);
      if (!inst || inst.provisioningState === 'Deleting') return undefined;
      if (op.kind === 'startInstance') {
        if (inst.powerState === 'running' && c.vms.isRunning(c.vmKey(ss.key, id))) return undefined;
        inst.powerState = 'starting';
        c.store.putInstance(inst);
        return bootVmNow(c, ss.key, id);
      }
      const annotation =
        op.kind === 'restartInstance'
          ? 'VirtualMachineRestarted'
          : op.kind === 'deallocateInstance'
            ? 'VirtualMachineDeallocationInitiated'
            : undefined;
      inst.powerState = 'stopping';
      c.setAvailability(ss, inst, 'Unavailable', annotation ? [c.annotationEvent(ss, inst, annotation)] : []);
      await stopVmNow(c, ss, id);
      if (op.kind === 'deallocateInstance') {
        inst.powerState = 'deallocated';
        c.store.putInstance(inst);
        return undefined;
      }
      if (op.kind === 'reimageInstance') await wipeDisk(c, ss, id);
      return bootVmNow(c, ss.key, id);
    });
  };
}
