// POST …/virtualMachines/{instanceId}/simulateEviction → 204; the eviction follows right away (Azure: within
// minutes) instead of after Azure's ≥ 30 s notice.
import { armErrorResponse, armErrors } from '../arm-errors.js';
import { instanceResourceId } from '../arm-ids.js';
import type { Compute } from '../compute.js';
import type { HttpRequest, HttpResponse } from '../http-types.js';
import { armEvent, requestOf } from '../run-operation.js';
import { priorityOf } from '../scale-set-model.js';
import { evictNow } from './evict-instance.js';
import { findInstance, type RouteParams } from './scale-set-lookup.js';

export function simulateEviction(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  const found = findInstance(c, p);
  if (!found.ok) return found.response;
  const { ss, inst } = found.value;
  if (priorityOf(ss) !== 'Spot') return armErrorResponse(409, armErrors.notSpot());
  c.emit([
    armEvent(
      c,
      {
        subscriptionId: ss.subscriptionId,
        event: {
          kind: 'Action',
          resourceUri: instanceResourceId(p, inst.instanceId),
          operationName: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/simulateEviction/action',
          ...requestOf(req),
        },
      },
      ss.resourceGroup,
      true,
    ),
  ]);
  c.publish();
  void c
    .serial(c.vmKey(ss.key, inst.instanceId), () => evictNow(c, ss.key, inst.instanceId))
    .catch((err: unknown) => c.log.error({ err, vm: inst.name }, 'eviction failed'));
  return { statusCode: 204 };
}
