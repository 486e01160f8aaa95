// The context every operation of the emulator works with: settings, records, VM processes, the event outbox, and
// the per-key serialisation. Work on one scale set (an ARM operation's continuation) and on one VM (boot, stop,
// faults) runs in order per key, so concurrent calls never interleave on the same VM; different VMs boot in
// parallel. What is done with a VM lives in verb-noun files: boot-vm.ts, remove-vm.ts, handle-vm-crash.ts;
// long-running operations in run-operation.ts.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { instanceResourceId, SCALE_SET_VM_TYPE } from './arm-ids.js';
import type { EventOutbox } from './event-outbox.js';
import {
  type AnnotationName,
  type AvailabilityState,
  availabilityStatusChanged,
  type EventGridEvent,
  resourceAnnotated,
} from './events.js';
import { refOf } from './scale-set-model.js';
import type { ComputeStore, InstanceRecord, ScaleSetRecord } from './store.js';
import type { VmProcesses } from './vm-processes.js';

export interface ComputeSettings {
  /** <stack data dir>/compute: the database, the VMs' disks and logs, the shared network directory. */
  dataDir: string;
  agentScript: string;
  bootDelayMs: number;
  coreQuota: number;
  pageSize: number;
  /** How long a VM's agent gets between SIGTERM and SIGKILL when it is deleted, restarted or evicted. */
  stopGraceMs: number;
  storageConnectionString: string;
  tenantId: string;
  /** Value of Retry-After on LRO responses, in seconds. */
  retryAfterSeconds: number;
  /** Time between a Spot eviction's Preempt notice and the guest shutdown (Azure gives at least 30 s). */
  evictionNoticeMs: number;
}

export class Compute {
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Recent crashes per VM, for the healing back-off. */
  readonly crashes = new Map<string, { count: number; lastBoot: number }>();
  private stopping = false;

  constructor(
    readonly settings: ComputeSettings,
    readonly store: ComputeStore,
    readonly vms: VmProcesses,
    readonly outbox: EventOutbox,
    readonly log: Logger,
  ) {}

  now(): Date {
    return new Date();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Runs `fn` after every earlier task of the same key (whatever their outcome). */
  serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return next;
  }

  /** Waits until the tasks queued so far for `key` are done. */
  settled(key: string): Promise<unknown> {
    return this.chains.get(key) ?? Promise.resolve();
  }

  vmKey = (scaleSetKeyValue: string, instanceId: number): string => `${scaleSetKeyValue}#${instanceId}`;

  diskDir(ss: ScaleSetRecord, instanceId: number): string {
    return join(
      this.settings.dataDir,
      'disks',
      ss.resourceGroup.toLowerCase(),
      `${ss.name.toLowerCase()}_${instanceId}`,
    );
  }

  logPath(ss: ScaleSetRecord, instanceId: number): string {
    return join(
      this.settings.dataDir,
      'logs',
      ss.resourceGroup.toLowerCase(),
      `${ss.name.toLowerCase()}_${instanceId}.log`,
    );
  }

  get networkRoot(): string {
    return join(this.settings.dataDir, 'network');
  }

  /** Commits events to the outbox. Call inside the transaction of the records they announce, then publish(). */
  emit(events: EventGridEvent[]): void {
    this.outbox.add(events);
  }

  publish(): void {
    this.outbox.kick();
  }

  private healthTarget(ss: ScaleSetRecord, inst: InstanceRecord) {
    return {
      subscriptionId: ss.subscriptionId,
      targetResourceId: instanceResourceId(refOf(ss), inst.instanceId),
      targetResourceType: SCALE_SET_VM_TYPE,
    };
  }

  availabilityEvent(ss: ScaleSetRecord, inst: InstanceRecord, previous: AvailabilityState, current: AvailabilityState) {
    return availabilityStatusChanged({
      ...this.healthTarget(ss, inst),
      id: randomUUID(),
      now: this.now(),
      previous,
      current,
    });
  }

  annotationEvent(ss: ScaleSetRecord, inst: InstanceRecord, annotationName: AnnotationName) {
    return resourceAnnotated({ ...this.healthTarget(ss, inst), id: randomUUID(), now: this.now(), annotationName });
  }

  /** Records a VM's availability and announces the change (no event when it does not change). */
  setAvailability(ss: ScaleSetRecord, inst: InstanceRecord, next: AvailabilityState, extra: EventGridEvent[] = []) {
    const previous = inst.availability;
    inst.availability = next;
    this.store.transaction(() => {
      this.store.putInstance(inst);
      this.emit([...extra, ...(previous === next ? [] : [this.availabilityEvent(ss, inst, previous, next)])]);
    });
    this.publish();
  }

  /** Every VM with its size and whether it holds cores (what the quota counts). */
  allocatedVms(): { vmSize: string; allocated: boolean }[] {
    return this.store.listAllInstances().map((i) => ({
      vmSize: i.vmSize,
      allocated: i.provisioningState !== 'Deleting' && i.powerState !== 'deallocated',
    }));
  }

  /** Stops every VM (records stay: they boot again on the next start); later work sees isStopping and yields. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.vms.stopAll(Math.min(this.settings.stopGraceMs, 2000));
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
