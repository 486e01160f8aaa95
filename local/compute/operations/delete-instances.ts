// POST …/virtualMachineScaleSets/{name}/delete { instanceIds } and DELETE …/virtualMachines/{instanceId}: the VMs
// are stopped (SIGTERM, grace, SIGKILL) and their disks removed; the scale set's capacity drops by as many, as on
// Azure.
import { armErrorResponse, armErrors } from '../arm-errors.js';
import { instanceResourceId, scaleSetId } from '../arm-ids.js';
import type { Compute } from '../compute.js';
import { type HttpRequest, type HttpResponse, parseJsonBody } from '../http-types.js';
import { removeVm } from '../remove-vm.js';
import { lroHeaders, newOperation, runOperation } from '../run-operation.js';
import type { OperationRecord, ScaleSetRecord } from '../store.js';
import { findScaleSet, parseInstanceId, type RouteParams } from './scale-set-lookup.js';

export function deleteInstancesAction(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  const found = findScaleSet(c, p);
  if (!found.ok) return found.response;
  const body = parseJsonBody(req);
  const raw = body.ok ? (body.value as { instanceIds?: unknown } | undefined)?.instanceIds : undefined;
  if (!Array.isArray(raw) || raw.length === 0)
    return armErrorResponse(
      400,
      armErrors.invalidParameter('instanceIds', 'instanceIds is required and must list at least one instance id.'),
    );
  const ids: number[] = [];
  for (const value of raw) {
    const id = parseInstanceId(String(value));
    const inst = id === undefined ? undefined : c.store.getInstance(found.value.key, id);
    if (id === undefined || !inst)
      return armErrorResponse(
        400,
        armErrors.invalidParameter(
          'instanceIds',
          `The provided instanceId ${String(value)} is not an active Virtual Machine Scale Set VM instanceId.`,
        ),
      );
    if (!ids.includes(id)) ids.push(id);
  }
  return startDelete(c, req, found.value, ids, {
    kind: 'Action',
    resourceUri: scaleSetId(p),
    operationName: 'Microsoft.Compute/virtualMachineScaleSets/delete/action',
  });
}

export function deleteInstance(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  const found = findScaleSet(c, p);
  if (!found.ok) return found.response;
  const id = parseInstanceId(p.instanceId);
  if (id === undefined || !c.store.getInstance(found.value.key, id)) return { statusCode: 204 };
  return startDelete(c, req, found.value, [id], {
    kind: 'Delete',
    resourceUri: instanceResourceId(p, id),
    operationName: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/delete',
  });
}

function startDelete(
  c: Compute,
  req: HttpRequest,
  ss: ScaleSetRecord,
  ids: number[],
  event: Pick<OperationRecord['event'], 'kind' | 'resourceUri' | 'operationName'>,
): HttpResponse {
  const op = newOperation(c, ss, 'deleteInstances', req, event, ids);
  c.store.transaction(() => {
    let removed = 0;
    for (const id of ids) {
      const inst = c.store.getInstance(ss.key, id);
      if (!inst || inst.provisioningState === 'Deleting') continue;
      c.store.putInstance({ ...inst, provisioningState: 'Deleting' });
      removed++;
    }
    c.store.putScaleSet({ ...ss, sku: { ...ss.sku, capacity: Math.max(0, ss.sku.capacity - removed) } });
    c.store.putOperation(op);
  });
  runOperation(c, op, ss.resourceGroup, finishInstancesDelete(c, op));
  return { statusCode: 202, headers: lroHeaders(c, req, op, true) };
}

export function finishInstancesDelete(c: Compute, op: OperationRecord) {
  return async () => {
    const ss = c.store.getScaleSet(op.scaleSetKey);
    if (!ss) return undefined;
    await Promise.all(op.instanceIds.map((id) => removeVm(c, ss, id)));
    return undefined;
  };
}
