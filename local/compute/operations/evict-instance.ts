// A Spot eviction, from simulateEviction or the admin fault route: the Preempt scheduled event first, then the
// guest is shut down and the scale set's evictionPolicy applies (Delete removes the VM and its disk and lowers the
// capacity; Deallocate keeps it, deallocated, holding no cores).
import { randomUUID } from 'node:crypto';
import { scaleSetId } from '../arm-ids.js';
import { type Compute, delay } from '../compute.js';
import { scheduledEventEmitted } from '../events.js';
import { stopVmNow, wipeDisk } from '../remove-vm.js';
import { evictionPolicyOf, refOf } from '../scale-set-model.js';

/** The caller holds the VM's serial key. */
export async function evictNow(c: Compute, scaleSetKeyValue: string, instanceId: number): Promise<void> {
  const ss = c.store.getScaleSet(scaleSetKeyValue);
  const inst = c.store.getInstance(scaleSetKeyValue, instanceId);
  if (!ss || !inst || inst.provisioningState === 'Deleting' || inst.powerState === 'deallocated') return;
  const now = c.now();
  const notice = c.settings.evictionNoticeMs;
  c.emit([
    scheduledEventEmitted({
      id: randomUUID(),
      now,
      subscriptionId: ss.subscriptionId,
      scaleSetId: scaleSetId(refOf(ss)),
      location: ss.location,
      eventType: 'Preempt',
      resources: [inst.name],
      notBefore: new Date(now.getTime() + notice),
      durationInSeconds: -1,
    }),
  ]);
  c.publish();
  // The notice: the VM still runs (on Azure it can read the Preempt event from IMDS and checkpoint).
  if (notice > 0) await delay(notice);
  await stopVmNow(c, ss, instanceId);
  const preempted = c.annotationEvent(ss, inst, 'VirtualMachinePreempted');
  if (evictionPolicyOf(ss) === 'Delete') {
    await wipeDisk(c, ss, instanceId);
    const unavailable = c.availabilityEvent(ss, inst, inst.availability, 'Unavailable');
    c.store.transaction(() => {
      const fresh = c.store.getScaleSet(ss.key) ?? ss;
      c.store.deleteInstance(ss.key, instanceId);
      c.store.putScaleSet({ ...fresh, sku: { ...fresh.sku, capacity: Math.max(0, fresh.sku.capacity - 1) } });
      c.emit([preempted, unavailable]);
    });
    c.publish();
    return;
  }
  inst.powerState = 'deallocated';
  c.setAvailability(ss, inst, 'Unavailable', [preempted]);
}
