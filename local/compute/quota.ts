// The regional vCPU quota: one limit over the cores of every allocated VM (deallocated VMs hold none), checked
// before an allocation is accepted, as ARM does. Pure.
import { vCpusOf } from '../../shared/domain/vm-sizes.js';

export interface AllocatedVm {
  vmSize: string;
  allocated: boolean;
}

export function coresInUse(vms: Iterable<AllocatedVm>): number {
  let cores = 0;
  for (const vm of vms) if (vm.allocated) cores += vCpusOf(vm.vmSize);
  return cores;
}

export type QuotaCheck = { ok: true } | { ok: false; limit: number; usage: number; required: number };

/** Whether `newVms` more VMs of `vmSize` fit under `limit` cores. */
export function checkCoreQuota(o: { limit: number; usage: number; vmSize: string; newVms: number }): QuotaCheck {
  const required = vCpusOf(o.vmSize) * Math.max(0, o.newVms);
  if (required === 0 || o.usage + required <= o.limit) return { ok: true };
  return { ok: false, limit: o.limit, usage: o.usage, required };
}
