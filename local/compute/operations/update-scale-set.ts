// PATCH …/virtualMachineScaleSets/{name}: merge into the model (e.g. { sku: { capacity } } to scale).
import { armErrorResponse, armErrors } from '../arm-errors.js';
import type { Compute } from '../compute.js';
import { type HttpRequest, type HttpResponse, parseJsonBody } from '../http-types.js';
import { mergePatch, readScaleSetBody } from '../scale-set-model.js';
import { findScaleSet, type RouteParams } from './scale-set-lookup.js';
import { writeScaleSet } from './write-scale-set.js';

export function updateScaleSet(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  const found = findScaleSet(c, p);
  if (!found.ok) return found.response;
  const existing = found.value;
  const body = parseJsonBody(req);
  if (!body.ok) return armErrorResponse(400, armErrors.invalidRequestContent('the body is not valid JSON'));
  const input = readScaleSetBody(body.value ?? {});
  if (!input.ok) return armErrorResponse(400, input.error);
  return writeScaleSet(c, req, p, existing, {
    location: existing.location,
    skuName: input.value.sku?.name ?? existing.sku.name,
    tier: input.value.sku?.tier ?? existing.sku.tier,
    capacity: input.value.sku?.capacity ?? existing.sku.capacity,
    model: mergePatch(existing.model, input.value.model),
  });
}
