// GET /admin/vms — every VM with its process, state and disk, for tests and for looking around.
import type { Compute } from '../compute.js';
import { type HttpResponse, json } from '../http-types.js';
import type { InstanceRecord, ScaleSetRecord } from '../store.js';

export function vmEntry(c: Compute, ss: ScaleSetRecord, inst: InstanceRecord) {
  const key = c.vmKey(ss.key, inst.instanceId);
  return {
    scaleSet: ss.name,
    resourceGroup: ss.resourceGroup,
    subscriptionId: ss.subscriptionId,
    instanceId: String(inst.instanceId),
    name: inst.name,
    vmId: inst.vmId,
    vmSize: inst.vmSize,
    provisioningState: inst.provisioningState,
    powerState: inst.powerState,
    availability: inst.availability,
    pid: c.vms.pid(key) ?? null,
    frozen: c.vms.isFrozen(key),
    port: inst.port,
    disk: c.diskDir(ss, inst.instanceId),
    log: c.logPath(ss, inst.instanceId),
    ...(inst.error ? { error: inst.error } : {}),
  };
}

export function listVms(c: Compute): HttpResponse {
  const vms = [];
  for (const ss of c.store.listScaleSets()) {
    for (const inst of c.store.listInstances(ss.key)) vms.push(vmEntry(c, ss, inst));
  }
  return json(200, { value: vms });
}
