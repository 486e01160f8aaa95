// POST /admin/vms/{vmss}/{instanceId}/faults { kind } — local fault injection (no ARM equivalent):
//   evict            the Spot eviction path, whatever the VM's priority
//   hostCrash        the host dies: SIGKILL, reported as a crash, then service-healed (rebooted)
//   killAgent        the agent process is killed behind the emulator's back: detected as a crash like any other
//   makeUnavailable  the VM freezes (SIGSTOP): it stops heartbeating but is not gone
//   makeAvailable    the frozen VM resumes (SIGCONT)
// Answers once the fault has been applied and announced.
import { armErrorResponse } from '../arm-errors.js';
import type { Compute } from '../compute.js';
import { crashVmNow } from '../handle-vm-crash.js';
import { type HttpRequest, type HttpResponse, json, parseJsonBody } from '../http-types.js';
import { evictNow } from './evict-instance.js';
import { vmEntry } from './list-vms.js';
import { parseInstanceId } from './scale-set-lookup.js';

export const FAULT_KINDS = ['evict', 'hostCrash', 'killAgent', 'makeUnavailable', 'makeAvailable'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export async function injectFault(
  c: Compute,
  req: HttpRequest,
  scaleSetName: string,
  rawInstanceId: string,
): Promise<HttpResponse> {
  const body = parseJsonBody(req);
  const kind = body.ok ? (body.value as { kind?: unknown } | undefined)?.kind : undefined;
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind))
    return armErrorResponse(400, {
      code: 'InvalidFault',
      message: `Body must be { "kind": one of ${FAULT_KINDS.join(', ')} }.`,
    });
  const rg = req.query.get('resourceGroup')?.toLowerCase();
  const matches = c.store
    .listScaleSets()
    .filter(
      (s) => s.name.toLowerCase() === scaleSetName.toLowerCase() && (!rg || s.resourceGroup.toLowerCase() === rg),
    );
  if (matches.length > 1)
    return armErrorResponse(409, {
      code: 'Ambiguous',
      message: `Several scale sets are named ${scaleSetName}; add ?resourceGroup=<name>.`,
    });
  const ss = matches[0];
  const id = parseInstanceId(rawInstanceId);
  const inst = ss && id !== undefined ? c.store.getInstance(ss.key, id) : undefined;
  if (!ss || id === undefined || !inst)
    return armErrorResponse(404, { code: 'NotFound', message: `No VM ${scaleSetName}_${rawInstanceId}.` });
  const vmKey = c.vmKey(ss.key, id);
  switch (kind as FaultKind) {
    case 'evict':
      await c.serial(vmKey, () => evictNow(c, ss.key, id));
      break;
    case 'hostCrash':
      await c.serial(vmKey, async () => {
        await c.vms.kill(vmKey, true);
        crashVmNow(c, ss.key, id);
      });
      break;
    case 'killAgent':
      await c.serial(vmKey, () => c.vms.kill(vmKey, false));
      // The exit was seen as unexpected and queued its crash handling behind the kill: wait for it.
      await c.settled(vmKey);
      break;
    case 'makeUnavailable':
      await c.serial(vmKey, async () => {
        const fresh = c.store.getInstance(ss.key, id);
        if (fresh && (await c.vms.freeze(vmKey))) c.setAvailability(ss, fresh, 'Unavailable');
      });
      break;
    case 'makeAvailable':
      await c.serial(vmKey, async () => {
        const fresh = c.store.getInstance(ss.key, id);
        if (fresh && (await c.vms.thaw(vmKey))) c.setAvailability(ss, fresh, 'Available');
      });
      break;
  }
  const after = c.store.getInstance(ss.key, id);
  return json(200, { kind, vm: after ? vmEntry(c, ss, after) : { name: inst.name, deleted: true } });
}
