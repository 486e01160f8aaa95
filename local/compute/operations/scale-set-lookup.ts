// Route parameters → records, with ARM's not-found answers. Shared by the operations.
import { type ArmError, armErrorResponse, armErrors } from '../arm-errors.js';
import { type ScaleSetRef, scaleSetKey } from '../arm-ids.js';
import type { Compute } from '../compute.js';
import type { HttpResponse } from '../http-types.js';
import type { InstanceRecord, ScaleSetRecord } from '../store.js';

export interface RouteParams extends ScaleSetRef {
  instanceId?: string;
}

export type Found<T> = { ok: true; value: T } | { ok: false; response: HttpResponse };

export function findScaleSet(c: Compute, ref: ScaleSetRef): Found<ScaleSetRecord> {
  const ss = c.store.getScaleSet(scaleSetKey(ref));
  return ss
    ? { ok: true, value: ss }
    : { ok: false, response: armErrorResponse(404, armErrors.scaleSetNotFound(ref.resourceGroup, ref.name)) };
}

/** Instance ids are decimal integers; anything else names no VM. */
export function parseInstanceId(raw: string | undefined): number | undefined {
  return raw !== undefined && /^\d{1,9}$/.test(raw) ? Number(raw) : undefined;
}

export function findInstance(c: Compute, p: RouteParams): Found<{ ss: ScaleSetRecord; inst: InstanceRecord }> {
  const ss = findScaleSet(c, p);
  if (!ss.ok) return ss;
  const id = parseInstanceId(p.instanceId);
  const inst = id === undefined ? undefined : c.store.getInstance(ss.value.key, id);
  return inst
    ? { ok: true, value: { ss: ss.value, inst } }
    : { ok: false, response: armErrorResponse(404, armErrors.instanceNotFound()) };
}

export const conflict = (message: string): ArmError => ({ code: 'Conflict', message });
