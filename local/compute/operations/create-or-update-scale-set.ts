// PUT …/virtualMachineScaleSets/{name}: create (201) or replace the model (200); LRO until every VM is booted.
import { armErrorResponse, armErrors } from '../arm-errors.js';
import { scaleSetKey } from '../arm-ids.js';
import type { Compute } from '../compute.js';
import { type HttpRequest, type HttpResponse, parseJsonBody } from '../http-types.js';
import { readScaleSetBody } from '../scale-set-model.js';
import type { RouteParams } from './scale-set-lookup.js';
import { writeScaleSet } from './write-scale-set.js';

export function createOrUpdateScaleSet(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  const body = parseJsonBody(req);
  if (!body.ok) return armErrorResponse(400, armErrors.invalidRequestContent('the body is not valid JSON'));
  const input = readScaleSetBody(body.value);
  if (!input.ok) return armErrorResponse(400, input.error);
  const existing = c.store.getScaleSet(scaleSetKey(p));
  const location = input.value.location ?? existing?.location;
  if (!location) return armErrorResponse(400, armErrors.locationRequired());
  const skuName = input.value.sku?.name ?? existing?.sku.name;
  if (!skuName)
    return armErrorResponse(400, armErrors.invalidParameter('sku.name', 'The VM size (sku.name) is required.'));
  return writeScaleSet(c, req, p, existing, {
    location,
    skuName,
    tier: input.value.sku?.tier ?? 'Standard',
    capacity: input.value.sku?.capacity ?? existing?.sku.capacity ?? 0,
    model: input.value.model,
  });
}
