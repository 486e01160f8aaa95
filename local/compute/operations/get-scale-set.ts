// GET …/virtualMachineScaleSets/{name}
import type { Compute } from '../compute.js';
import { type HttpResponse, json } from '../http-types.js';
import { scaleSetView } from '../scale-set-model.js';
import { findScaleSet, type RouteParams } from './scale-set-lookup.js';

export function getScaleSet(c: Compute, p: RouteParams): HttpResponse {
  const found = findScaleSet(c, p);
  return found.ok ? json(200, scaleSetView(found.value)) : found.response;
}
