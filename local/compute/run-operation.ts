// Azure's long-running-operation protocol on the emulator's side: an operation record written with the request's
// records, the Azure-AsyncOperation/Location headers of the answer, the continuation run after earlier work on
// the same scale set, and the Resources event when it ends. Interrupted operations resume at start.
import { randomUUID } from 'node:crypto';
import { type ArmError, armErrors } from './arm-errors.js';
import { operationPath } from './arm-ids.js';
import { bootVm } from './boot-vm.js';
import type { Compute } from './compute.js';
import { type EventGridEvent, resourceEvent } from './events.js';
import type { HttpRequest } from './http-types.js';
import { removeVm } from './remove-vm.js';
import type { OperationRecord, ScaleSetRecord } from './store.js';

export type Continuation = () => Promise<ArmError | undefined>;

export function newOperation(
  c: Compute,
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
    startTime: c.now().toISOString(),
    event: { ...event, ...requestOf(req) },
  };
}

/** What the Resources event says about the request. */
export function requestOf(req: HttpRequest): Pick<OperationRecord['event'], 'httpMethod' | 'url' | 'clientRequestId'> {
  const clientRequestId = req.headers['x-ms-client-request-id'];
  return {
    httpMethod: req.method,
    url: `${req.baseUrl}${req.path}?${req.query.toString()}`,
    ...(clientRequestId ? { clientRequestId } : {}),
  };
}

/** Azure's LRO headers: poll Azure-AsyncOperation; POST/DELETE also get a Location for the final result. */
export function lroHeaders(
  c: Compute,
  req: HttpRequest,
  op: OperationRecord,
  withLocation: boolean,
): Record<string, string> {
  const apiVersion = encodeURIComponent(req.query.get('api-version') ?? '');
  const url = `${req.baseUrl}${operationPath(op.subscriptionId, op.location, op.id)}`;
  return {
    'Azure-AsyncOperation': `${url}?api-version=${apiVersion}`,
    ...(withLocation ? { Location: `${url}?monitor=true&api-version=${apiVersion}` } : {}),
    'Retry-After': String(c.settings.retryAfterSeconds),
  };
}

/** The Resources event of an ARM call, for its outcome. */
export function armEvent(
  c: Compute,
  call: Pick<OperationRecord, 'event' | 'subscriptionId'>,
  resourceGroup: string,
  ok: boolean,
): EventGridEvent {
  return resourceEvent({
    id: randomUUID(),
    now: c.now(),
    kind: call.event.kind,
    outcome: ok ? 'Success' : 'Failure',
    subscriptionId: call.subscriptionId,
    resourceGroup,
    tenantId: c.settings.tenantId,
    resourceUri: call.event.resourceUri,
    operationName: call.event.operationName,
    httpMethod: call.event.httpMethod,
    url: call.event.url,
    correlationId: randomUUID(),
    ...(call.event.clientRequestId ? { clientRequestId: call.event.clientRequestId } : {}),
  });
}

/** Runs an operation's continuation after earlier work on its scale set, then records how it ended. */
export function runOperation(c: Compute, op: OperationRecord, resourceGroup: string, work: Continuation): void {
  void c.serial(op.scaleSetKey, async () => {
    let error: ArmError | undefined;
    try {
      error = await work();
    } catch (err) {
      c.log.error({ err, operation: op.id, kind: op.kind }, 'operation failed');
      error = armErrors.internal();
    }
    if (c.isStopping) return; // resumed on the next start
    const done: OperationRecord = {
      ...op,
      status: error ? 'Failed' : 'Succeeded',
      endTime: c.now().toISOString(),
      ...(error ? { error } : {}),
    };
    c.store.transaction(() => {
      c.store.putOperation(done);
      c.emit([armEvent(c, done, resourceGroup, !error)]);
    });
    c.publish();
  });
}

/** After a restart: VMs that were running boot again (a host restart), then interrupted operations resume. */
export function resumeAfterRestart(c: Compute, continuation: (op: OperationRecord) => Continuation): void {
  const pending = c.store.operationsInProgress();
  const resumed = new Set(pending.map((op) => op.scaleSetKey));
  for (const ss of c.store.listScaleSets()) {
    for (const inst of c.store.listInstances(ss.key)) {
      const running = inst.provisioningState === 'Succeeded' && inst.powerState !== 'deallocated';
      if (running || (!resumed.has(ss.key) && inst.provisioningState === 'Creating'))
        void bootVm(c, ss, inst.instanceId);
      else if (!resumed.has(ss.key) && inst.provisioningState === 'Deleting') void removeVm(c, ss, inst.instanceId);
    }
  }
  for (const op of pending) {
    const ss = c.store.getScaleSet(op.scaleSetKey);
    c.log.info({ operation: op.id, kind: op.kind }, 'resuming operation');
    runOperation(c, op, ss?.resourceGroup ?? op.event.resourceUri.split('/')[4] ?? '', continuation(op));
  }
}
