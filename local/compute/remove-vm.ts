// Stopping and removing a VM: SIGTERM, a grace period, SIGKILL; a removed VM loses its disk and its record.
import { rm } from 'node:fs/promises';
import type { Compute } from './compute.js';
import type { ScaleSetRecord } from './store.js';

/** Stops a VM's process; the caller holds its serial key. */
export async function stopVmNow(c: Compute, ss: ScaleSetRecord, instanceId: number): Promise<void> {
  await c.vms.stop(c.vmKey(ss.key, instanceId), c.settings.stopGraceMs);
}

/** Deletes a VM after earlier work on it: its process, its disk and its record. */
export function removeVm(c: Compute, ss: ScaleSetRecord, instanceId: number): Promise<void> {
  return c.serial(c.vmKey(ss.key, instanceId), () => removeVmNow(c, ss, instanceId));
}

export async function removeVmNow(c: Compute, ss: ScaleSetRecord, instanceId: number): Promise<void> {
  await stopVmNow(c, ss, instanceId);
  await wipeDisk(c, ss, instanceId);
  c.store.deleteInstance(ss.key, instanceId);
  c.crashes.delete(c.vmKey(ss.key, instanceId));
}

export async function wipeDisk(c: Compute, ss: ScaleSetRecord, instanceId: number): Promise<void> {
  await rm(c.diskDir(ss, instanceId), { recursive: true, force: true });
}
