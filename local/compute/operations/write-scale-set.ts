// The write shared by PUT (create or replace) and PATCH (merge): validates the size and the core quota, records
// the new model, the VMs to create (new ids, never reused) and the VMs to remove (scale-in removes the highest
// ids, like Azure's Default scale-in policy), then lets the operation boot and remove them.
import { randomUUID } from 'node:crypto';
import { KNOWN_VM_SIZES, vmSizeOf } from '../../../shared/domain/vm-sizes.js';
import { type ArmError, armErrorResponse, armErrors } from '../arm-errors.js';
import { instanceName, type ScaleSetRef, scaleSetId, scaleSetKey } from '../arm-ids.js';
import { bootVm } from '../boot-vm.js';
import type { Compute } from '../compute.js';
import { type HttpRequest, type HttpResponse, json } from '../http-types.js';
import { checkCoreQuota, coresInUse } from '../quota.js';
import { removeVm } from '../remove-vm.js';
import { armEvent, lroHeaders, newOperation, requestOf, runOperation } from '../run-operation.js';
import { scaleSetView, withoutSecrets } from '../scale-set-model.js';
import type { InstanceRecord, OperationRecord, ScaleSetRecord } from '../store.js';
import { conflict } from './scale-set-lookup.js';

export interface ScaleSetWrite {
  location: string;
  skuName: string;
  tier: string;
  capacity: number;
  model: Record<string, unknown>;
}

const WRITE = 'Microsoft.Compute/virtualMachineScaleSets/write';

export function writeScaleSet(
  c: Compute,
  req: HttpRequest,
  ref: ScaleSetRef,
  existing: ScaleSetRecord | undefined,
  next: ScaleSetWrite,
): HttpResponse {
  const reject = (status: number, error: ArmError): HttpResponse => {
    // ARM announces a rejected write too.
    c.emit([
      armEvent(
        c,
        {
          subscriptionId: ref.subscriptionId,
          event: {
            kind: 'Write',
            resourceUri: scaleSetId(ref),
            operationName: WRITE,
            ...requestOf(req),
          },
        },
        ref.resourceGroup,
        false,
      ),
    ]);
    c.publish();
    return armErrorResponse(status, error);
  };
  const size = vmSizeOf(next.skuName);
  if (!size) return reject(400, armErrors.unknownVmSize(next.skuName, KNOWN_VM_SIZES));
  if (existing?.provisioningState === 'Deleting')
    return reject(409, conflict(`The scale set '${existing.name}' is being deleted.`));

  const instances = existing ? c.store.listInstances(existing.key) : [];
  const live = instances.filter((i) => i.provisioningState !== 'Deleting').sort((a, b) => a.instanceId - b.instanceId);
  const grow = next.capacity - live.length;
  const quota = checkCoreQuota({
    limit: c.settings.coreQuota,
    usage: coresInUse(c.allocatedVms()),
    vmSize: size.name,
    newVms: grow,
  });
  if (!quota.ok) return reject(409, armErrors.coreQuotaExceeded({ location: next.location, ...quota }));

  const now = c.now().toISOString();
  const model = withoutSecrets(next.model);
  // A write that only scales (or repeats the same body) leaves the VMs on the latest model.
  const modelChanged =
    existing !== undefined &&
    (existing.sku.name !== next.skuName || JSON.stringify(existing.model) !== JSON.stringify(model));
  const ss: ScaleSetRecord = existing
    ? {
        ...existing,
        sku: { name: next.skuName, tier: next.tier, capacity: next.capacity },
        model,
        provisioningState: 'Updating',
        modelVersion: modelChanged ? existing.modelVersion + 1 : existing.modelVersion,
      }
    : {
        key: scaleSetKey(ref),
        subscriptionId: ref.subscriptionId,
        resourceGroup: ref.resourceGroup,
        name: ref.name,
        location: next.location,
        sku: { name: next.skuName, tier: next.tier, capacity: next.capacity },
        model,
        provisioningState: 'Creating',
        uniqueId: randomUUID(),
        timeCreated: now,
        nextInstanceId: 0,
        modelVersion: 1,
      };
  const created: InstanceRecord[] = [];
  for (let i = 0; i < grow; i++) {
    const instanceId = ss.nextInstanceId++;
    created.push({
      scaleSetKey: ss.key,
      instanceId,
      name: instanceName(ss.name, instanceId),
      vmId: randomUUID(),
      vmSize: size.name,
      modelVersion: ss.modelVersion,
      provisioningState: 'Creating',
      powerState: 'starting',
      availability: 'Unknown',
      port: 0,
      timeCreated: now,
    });
  }
  const removed = grow < 0 ? live.slice(grow).map((i) => ({ ...i, provisioningState: 'Deleting' as const })) : [];
  const op = newOperation(c, ss, 'writeScaleSet', req, {
    kind: 'Write',
    resourceUri: scaleSetId(ref),
    operationName: WRITE,
  });
  c.store.transaction(() => {
    c.store.putScaleSet(ss);
    for (const i of [...created, ...removed]) c.store.putInstance(i);
    c.store.putOperation(op);
  });
  runOperation(c, op, ss.resourceGroup, finishScaleSetWrite(c, op));
  return json(existing ? 200 : 201, scaleSetView(ss), lroHeaders(c, req, op, false));
}

/** Boots the VMs being created and removes the ones being deleted; the scale set then reads Succeeded or Failed. */
export function finishScaleSetWrite(c: Compute, op: OperationRecord): () => Promise<ArmError | undefined> {
  return async () => {
    const ss = c.store.getScaleSet(op.scaleSetKey);
    if (!ss) return undefined;
    const results = await Promise.all(
      c.store.listInstances(ss.key).map(async (i) => {
        if (i.provisioningState === 'Creating') return bootVm(c, ss, i.instanceId);
        if (i.provisioningState === 'Deleting') await removeVm(c, ss, i.instanceId);
        return undefined;
      }),
    );
    const error = results.find((e) => e !== undefined);
    const fresh = c.store.getScaleSet(ss.key);
    if (fresh && fresh.provisioningState !== 'Deleting' && !c.isStopping) {
      fresh.provisioningState = error ? 'Failed' : 'Succeeded';
      c.store.putScaleSet(fresh);
    }
    return error;
  };
}
