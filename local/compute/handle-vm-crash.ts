// A VM's process died without being asked to (the agent crashed or was killed): on Azure that is a host crash.
// It is reported as one (Unavailable + VirtualMachineHostCrashed) and service-healed: booted again after the boot
// delay, with a growing back-off while it keeps crashing.
import { bootVmNow } from './boot-vm.js';
import type { Compute } from './compute.js';
import type { UnexpectedExit } from './vm-processes.js';

const CRASH_WINDOW_MS = 60_000;
const MAX_HEAL_BACKOFF_MS = 30_000;

/** VmProcesses' report of an exit it did not cause. */
export function handleUnexpectedExit(c: Compute, exit: UnexpectedExit): void {
  if (c.isStopping) return;
  const [key, id] = exit.key.split('#');
  if (key === undefined || id === undefined) return;
  void c
    .serial(exit.key, async () => crashVmNow(c, key, Number(id)))
    .catch((err: unknown) => c.log.error({ err, vm: exit.key }, 'crash handling failed'));
}

/** Reports the crash and schedules the healing reboot; the caller holds the VM's serial key. */
export function crashVmNow(c: Compute, key: string, instanceId: number): void {
  const ss = c.store.getScaleSet(key);
  const inst = c.store.getInstance(key, instanceId);
  // Only a VM that was up can crash (a VM that failed provisioning has nothing to heal).
  if (!ss || !inst || inst.provisioningState !== 'Succeeded' || inst.powerState === 'deallocated') return;
  inst.powerState = 'starting';
  c.setAvailability(ss, inst, 'Unavailable', [c.annotationEvent(ss, inst, 'VirtualMachineHostCrashed')]);
  const vmKey = c.vmKey(key, instanceId);
  const now = Date.now();
  const previous = c.crashes.get(vmKey);
  const count = previous && now - previous.lastBoot < CRASH_WINDOW_MS ? previous.count + 1 : 1;
  c.crashes.set(vmKey, { count, lastBoot: previous?.lastBoot ?? now });
  const backoff = count <= 1 ? 0 : Math.min(MAX_HEAL_BACKOFF_MS, 250 * 2 ** (count - 2));
  const timer = setTimeout(() => {
    if (c.isStopping) return;
    void c
      .serial(vmKey, () => bootVmNow(c, key, instanceId))
      .catch((err: unknown) => c.log.error({ err, vm: vmKey }, 'healing reboot failed'));
  }, backoff);
  timer.unref();
}
