// The emulator's machinery shared by its operations: records, VM processes, events and long-running operations.
// Work on one scale set (an ARM operation's continuation) and on one VM (boot, stop, faults) is serialised per
// key, so concurrent calls never interleave on the same VM; different VMs boot in parallel.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { freePort } from '../stack/ports.js';
import { type ArmError, armErrors } from './arm-errors.js';
import { instanceResourceId, operationPath, SCALE_SET_VM_TYPE, scaleSetKey } from './arm-ids.js';
import { localVmEnvironment, parseAgentBootstrap, writeAgentConfig } from './cloud-init.js';
import type { EventOutbox } from './event-outbox.js';
import {
  type AnnotationName,
  type AvailabilityState,
  availabilityStatusChanged,
  type EventGridEvent,
  resourceAnnotated,
  resourceEvent,
} from './events.js';
import type { HttpRequest } from './http-types.js';
import { customDataOf, priorityOf, refOf } from './scale-set-model.js';
import type { ComputeStore, InstanceRecord, OperationRecord, ScaleSetRecord } from './store.js';
import type { UnexpectedExit, VmProcesses } from './vm-processes.js';

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
}

const CRASH_WINDOW_MS = 60_000;
const MAX_HEAL_BACKOFF_MS = 30_000;

export class Compute {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly crashes = new Map<string, { count: number; lastBoot: number }>();
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

  // ------------------------------------------------------------------------------------------------------------
  // Events

  /** Commits events to the outbox and wakes the publisher. Call inside the transaction of the records they announce. */
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

  /** Sets a VM's availability and announces the change (nothing when it does not change). */
  setAvailability(ss: ScaleSetRecord, inst: InstanceRecord, next: AvailabilityState, extra: EventGridEvent[] = []) {
    const previous = inst.availability;
    inst.availability = next;
    this.store.transaction(() => {
      this.store.putInstance(inst);
      this.emit([...extra, ...(previous === next ? [] : [this.availabilityEvent(ss, inst, previous, next)])]);
    });
    this.publish();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Long-running operations

  newOperation(
    ss: ScaleSetRecord,
    kind: OperationRecord['kind'],
    req: HttpRequest,
    event: Omit<OperationRecord['event'], 'httpMethod' | 'url' | 'clientRequestId'>,
    instanceIds: number[] = [],
  ): OperationRecord {
    return {
      id: randomUUID(),
      subscriptionId: ss.subscriptionId,
      location: ss.location,
      kind,
      scaleSetKey: ss.key,
      instanceIds,
      status: 'InProgress',
      startTime: this.now().toISOString(),
      event: {
        ...event,
        httpMethod: req.method,
        url: `${req.baseUrl}${req.path}?${req.query.toString()}`,
        ...(req.headers['x-ms-client-request-id'] ? { clientRequestId: req.headers['x-ms-client-request-id'] } : {}),
      },
    };
  }

  /** Azure's LRO headers: poll Azure-AsyncOperation; POST/DELETE also get a Location for the final result. */
  lroHeaders(req: HttpRequest, op: OperationRecord, withLocation: boolean): Record<string, string> {
    const apiVersion = req.query.get('api-version') ?? '';
    const url = `${req.baseUrl}${operationPath(op.subscriptionId, op.location, op.id)}`;
    return {
      'Azure-AsyncOperation': `${url}?api-version=${encodeURIComponent(apiVersion)}`,
      ...(withLocation ? { Location: `${url}?monitor=true&api-version=${encodeURIComponent(apiVersion)}` } : {}),
      'Retry-After': String(this.settings.retryAfterSeconds),
    };
  }

  /** The event of an ARM call, for its outcome. */
  armEvent(op: Pick<OperationRecord, 'event' | 'subscriptionId'>, resourceGroup: string, ok: boolean): EventGridEvent {
    return resourceEvent({
      id: randomUUID(),
      now: this.now(),
      kind: op.event.kind,
      outcome: ok ? 'Success' : 'Failure',
      subscriptionId: op.subscriptionId,
      resourceGroup,
      tenantId: this.settings.tenantId,
      resourceUri: op.event.resourceUri,
      operationName: op.event.operationName,
      httpMethod: op.event.httpMethod,
      url: op.event.url,
      correlationId: randomUUID(),
      ...(op.event.clientRequestId ? { clientRequestId: op.event.clientRequestId } : {}),
    });
  }

  /** Runs an operation's continuation after earlier work on its scale set, then records how it ended. */
  launch(op: OperationRecord, resourceGroup: string, work: () => Promise<ArmError | undefined>): void {
    void this.serial(op.scaleSetKey, async () => {
      let error: ArmError | undefined;
      try {
        error = await work();
      } catch (err) {
        this.log.error({ err, operation: op.id, kind: op.kind }, 'operation failed');
        error = armErrors.internal();
      }
      if (this.stopping) return; // resumed on the next start
      const done: OperationRecord = {
        ...op,
        status: error ? 'Failed' : 'Succeeded',
        endTime: this.now().toISOString(),
        ...(error ? { error } : {}),
      };
      this.store.transaction(() => {
        this.store.putOperation(done);
        this.emit([this.armEvent(done, resourceGroup, !error)]);
      });
      this.publish();
    });
  }

  // ------------------------------------------------------------------------------------------------------------
  // VMs

  /** Boots a VM (after the boot delay): cloud-init, then its agent process. Returns the provisioning error, if any. */
  boot(ss: ScaleSetRecord, instanceId: number): Promise<ArmError | undefined> {
    return this.serial(this.vmKey(ss.key, instanceId), () => this.bootNow(ss.key, instanceId, true));
  }

  /** Boots a VM; the caller holds its serial key. */
  async bootNow(key: string, instanceId: number, withDelay: boolean): Promise<ArmError | undefined> {
    if (withDelay && this.settings.bootDelayMs > 0) await delay(this.settings.bootDelayMs);
    if (this.stopping) return undefined;
    const ss = this.store.getScaleSet(key);
    const inst = this.store.getInstance(key, instanceId);
    if (!ss || !inst || inst.provisioningState === 'Deleting') return undefined;
    const vmKey = this.vmKey(key, instanceId);
    if (this.vms.isRunning(vmKey)) return undefined;
    const diskDir = this.diskDir(ss, instanceId);
    const fail = (error: ArmError): ArmError => {
      inst.provisioningState = 'Failed';
      inst.powerState = 'stopped';
      inst.error = error;
      this.store.putInstance(inst);
      return error;
    };
    const customData = customDataOf(ss);
    if (customData === undefined)
      return fail(
        armErrors.osProvisioningFailed(
          inst.name,
          'the scale set has no osProfile.customData (local VMs run only the node agent)',
        ),
      );
    const parsed = parseAgentBootstrap(customData);
    if (!parsed.ok) return fail(armErrors.osProvisioningFailed(inst.name, parsed.error));
    if (inst.port === 0) {
      inst.port = await freePort();
      this.store.putInstance(inst);
    }
    const configPath = await writeAgentConfig(diskDir, parsed.value);
    const env = {
      ...process.env,
      ...localVmEnvironment({
        resourceId: instanceResourceId(refOf(ss), instanceId),
        vmId: inst.vmId,
        name: inst.name,
        instanceId,
        vmSize: inst.vmSize,
        priority: priorityOf(ss),
        diskDir,
        port: inst.port,
        networkRoot: this.networkRoot,
        storageConnectionString: this.settings.storageConnectionString,
      }),
    } as Record<string, string>;
    try {
      const pid = await this.vms.start({
        key: vmKey,
        script: this.settings.agentScript,
        args: ['--config', configPath],
        env,
        cwd: diskDir,
        logPath: this.logPath(ss, instanceId),
      });
      this.log.info({ vm: inst.name, pid }, 'VM booted');
    } catch (err) {
      return fail(armErrors.vmStartFailed(inst.name, (err as Error).message));
    }
    const crash = this.crashes.get(vmKey);
    if (crash) crash.lastBoot = Date.now();
    inst.provisioningState = 'Succeeded';
    inst.powerState = 'running';
    delete inst.error;
    this.setAvailability(ss, inst, 'Available');
    return undefined;
  }

  /** Stops a VM's process (SIGTERM, grace, SIGKILL); the caller holds its serial key. */
  async stopNow(ss: ScaleSetRecord, instanceId: number): Promise<void> {
    await this.vms.stop(this.vmKey(ss.key, instanceId), this.settings.stopGraceMs);
  }

  /** Deletes a VM: its process, its disk and its record. */
  remove(ss: ScaleSetRecord, instanceId: number): Promise<void> {
    return this.serial(this.vmKey(ss.key, instanceId), () => this.removeNow(ss, instanceId));
  }

  async removeNow(ss: ScaleSetRecord, instanceId: number): Promise<void> {
    await this.stopNow(ss, instanceId);
    await rm(this.diskDir(ss, instanceId), { recursive: true, force: true });
    this.store.deleteInstance(ss.key, instanceId);
    this.crashes.delete(this.vmKey(ss.key, instanceId));
  }

  async wipeDisk(ss: ScaleSetRecord, instanceId: number): Promise<void> {
    await rm(this.diskDir(ss, instanceId), { recursive: true, force: true });
  }

  /**
   * A VM's process died without being asked to (the agent crashed or was killed): on Azure that is a host crash.
   * It is reported as one (Unavailable + VirtualMachineHostCrashed) and service-healed: booted again after the
   * boot delay, with a growing back-off when it keeps crashing.
   */
  onUnexpectedExit = (exit: UnexpectedExit): void => {
    if (this.stopping) return;
    const [key, id] = exit.key.split('#');
    if (key === undefined || id === undefined) return;
    void this.serial(exit.key, async () => this.crashedNow(key, Number(id))).catch((err: unknown) =>
      this.log.error({ err, vm: exit.key }, 'crash handling failed'),
    );
  };

  /** Reports a crash and schedules the healing reboot; the caller holds the VM's serial key. */
  crashedNow(key: string, instanceId: number): void {
    const ss = this.store.getScaleSet(key);
    const inst = this.store.getInstance(key, instanceId);
    if (!ss || !inst || inst.provisioningState === 'Deleting' || inst.powerState === 'deallocated') return;
    inst.powerState = 'starting';
    this.setAvailability(ss, inst, 'Unavailable', [this.annotationEvent(ss, inst, 'VirtualMachineHostCrashed')]);
    const vmKey = this.vmKey(key, instanceId);
    const now = Date.now();
    const previous = this.crashes.get(vmKey);
    const count = previous && now - previous.lastBoot < CRASH_WINDOW_MS ? previous.count + 1 : 1;
    this.crashes.set(vmKey, { count, lastBoot: previous?.lastBoot ?? now });
    const backoff = count <= 1 ? 0 : Math.min(MAX_HEAL_BACKOFF_MS, 250 * 2 ** (count - 2));
    const timer = setTimeout(() => {
      if (this.stopping) return;
      void this.serial(vmKey, () => this.bootNow(key, instanceId, true)).catch((err: unknown) =>
        this.log.error({ err, vm: vmKey }, 'healing reboot failed'),
      );
    }, backoff);
    timer.unref();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Start and stop

  /** Cores of every allocated VM (what the quota counts). */
  allocatedVms(): { vmSize: string; allocated: boolean }[] {
    return this.store.listAllInstances().map((i) => ({
      vmSize: i.vmSize,
      allocated: i.provisioningState !== 'Deleting' && i.powerState !== 'deallocated',
    }));
  }

  /** After a restart: VMs that were running boot again (a host restart), then interrupted operations resume. */
  resume(continuation: (op: OperationRecord) => () => Promise<ArmError | undefined>): void {
    const pending = this.store.operationsInProgress();
    const resumedScaleSets = new Set(pending.map((op) => op.scaleSetKey));
    for (const ss of this.store.listScaleSets()) {
      for (const inst of this.store.listInstances(ss.key)) {
        const running = inst.provisioningState === 'Succeeded' && inst.powerState !== 'deallocated';
        const unfinished = !resumedScaleSets.has(ss.key) && inst.provisioningState === 'Creating';
        if (running || unfinished) void this.boot(ss, inst.instanceId);
        else if (!resumedScaleSets.has(ss.key) && inst.provisioningState === 'Deleting')
          void this.remove(ss, inst.instanceId);
      }
    }
    for (const op of pending) {
      const ss = this.store.getScaleSet(op.scaleSetKey);
      this.log.info({ operation: op.id, kind: op.kind }, 'resuming operation');
      this.launch(op, ss?.resourceGroup ?? op.event.resourceUri.split('/')[4] ?? '', continuation(op));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.vms.stopAll(Math.min(this.settings.stopGraceMs, 2000));
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export { scaleSetKey };
