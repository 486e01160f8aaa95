// Reading a client's scale-set body into what the emulator keeps, merging a PATCH, and the ARM views of scale
// sets, VMs and operations. Pure.
import { type ArmError, armErrors } from './arm-errors.js';
import {
  instanceResourceId,
  operationPath,
  SCALE_SET_TYPE,
  SCALE_SET_VM_TYPE,
  type ScaleSetRef,
  scaleSetId,
} from './arm-ids.js';
import type { InstanceRecord, OperationRecord, ScaleSetRecord } from './store.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Azure's largest scale set (Uniform, with singlePlacementGroup false). */
export const MAX_CAPACITY = 1000;

export interface ScaleSetInput {
  location?: string;
  sku?: { name?: string; tier?: string; capacity?: number };
  /** Everything else the client sent (tags, identity, zones, plan, properties). */
  model: Json;
}

/** Validates the shape of a PUT or PATCH body (what ARM checks before it accepts the request). */
export function readScaleSetBody(body: unknown): { ok: true; value: ScaleSetInput } | { ok: false; error: ArmError } {
  if (!isObject(body)) return { ok: false, error: armErrors.invalidRequestContent('the body must be a JSON object') };
  const { location, sku, id: _id, name: _name, type: _type, etag: _etag, ...model } = body;
  if (location !== undefined && typeof location !== 'string')
    return { ok: false, error: armErrors.invalidParameter('location', 'location must be a string.') };
  if (sku !== undefined && !isObject(sku))
    return { ok: false, error: armErrors.invalidParameter('sku', 'sku must be an object.') };
  const skuOut: ScaleSetInput['sku'] = {};
  if (sku) {
    if (sku.name !== undefined) {
      if (typeof sku.name !== 'string' || sku.name === '')
        return { ok: false, error: armErrors.invalidParameter('sku.name', 'sku.name must be a VM size.') };
      skuOut.name = sku.name;
    }
    if (sku.tier !== undefined && typeof sku.tier === 'string') skuOut.tier = sku.tier;
    if (sku.capacity !== undefined) {
      const c = sku.capacity;
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > MAX_CAPACITY)
        return {
          ok: false,
          error: armErrors.invalidParameter(
            'sku.capacity',
            `sku.capacity must be an integer from 0 to ${MAX_CAPACITY}.`,
          ),
        };
      skuOut.capacity = c;
    }
  }
  if (model.properties !== undefined && !isObject(model.properties))
    return { ok: false, error: armErrors.invalidParameter('properties', 'properties must be an object.') };
  const profile = isObject(model.properties) ? model.properties.virtualMachineProfile : undefined;
  if (profile !== undefined && !isObject(profile))
    return {
      ok: false,
      error: armErrors.invalidParameter('virtualMachineProfile', 'virtualMachineProfile must be an object.'),
    };
  if (isObject(profile)) {
    const priority = profile.priority;
    if (priority !== undefined && !['Regular', 'Low', 'Spot'].includes(String(priority)))
      return {
        ok: false,
        error: armErrors.invalidParameter('priority', `The value '${String(priority)}' of priority is not valid.`),
      };
    const policy = profile.evictionPolicy;
    if (policy !== undefined && !['Deallocate', 'Delete'].includes(String(policy)))
      return {
        ok: false,
        error: armErrors.invalidParameter(
          'evictionPolicy',
          `The value '${String(policy)}' of evictionPolicy is not valid.`,
        ),
      };
    const osProfile = profile.osProfile;
    if (osProfile !== undefined && isObject(osProfile) && osProfile.customData !== undefined) {
      if (typeof osProfile.customData !== 'string')
        return { ok: false, error: armErrors.invalidParameter('customData', 'customData must be a base64 string.') };
      // Azure's limit: 64 KB of base64.
      if (osProfile.customData.length > 65_536)
        return {
          ok: false,
          error: armErrors.invalidParameter('customData', 'customData must not exceed 65536 characters.'),
        };
    }
  }
  return { ok: true, value: { ...(location !== undefined ? { location } : {}), sku: skuOut, model: model as Json } };
}

/** Deep merge for PATCH: objects merge key by key, anything else (arrays included) replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  const out: Json = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    const current = out[k];
    out[k] = isObject(v) && isObject(current) ? mergePatch(current, v) : v;
  }
  return out;
}

/**
 * The model without write-only secrets: an admin password and extensions' protectedSettings are never stored, nor
 * returned (the emulator runs no extension, and nothing it keeps may hold a secret in clear).
 */
export function withoutSecrets(model: Json): Json {
  const properties = isObject(model.properties) ? model.properties : undefined;
  const profile =
    properties && isObject(properties.virtualMachineProfile) ? properties.virtualMachineProfile : undefined;
  if (!profile) return model;
  let out = model;
  const osProfile = isObject(profile.osProfile) ? profile.osProfile : undefined;
  if (osProfile && osProfile.adminPassword !== undefined) {
    const { adminPassword: _secret, ...rest } = osProfile;
    out = mergeReplace(out, ['properties', 'virtualMachineProfile', 'osProfile'], rest);
  }
  const extensionProfile = isObject(profile.extensionProfile) ? profile.extensionProfile : undefined;
  if (extensionProfile && Array.isArray(extensionProfile.extensions)) {
    const extensions = extensionProfile.extensions.map((e: unknown) => {
      if (!isObject(e) || !isObject(e.properties) || e.properties.protectedSettings === undefined) return e;
      const { protectedSettings: _p, ...rest } = e.properties;
      return { ...e, properties: rest };
    });
    out = mergeReplace(out, ['properties', 'virtualMachineProfile', 'extensionProfile', 'extensions'], extensions);
  }
  return out;
}

function mergeReplace(obj: Json, path: string[], value: unknown): Json {
  const [head, ...rest] = path;
  if (head === undefined) return obj;
  const child = isObject(obj[head]) ? (obj[head] as Json) : {};
  return { ...obj, [head]: rest.length === 0 ? value : mergeReplace(child, rest, value) };
}

export function virtualMachineProfileOf(ss: ScaleSetRecord): Json {
  const properties = isObject(ss.model.properties) ? ss.model.properties : {};
  return isObject(properties.virtualMachineProfile) ? properties.virtualMachineProfile : {};
}

export function customDataOf(ss: ScaleSetRecord): string | undefined {
  const osProfile = virtualMachineProfileOf(ss).osProfile;
  return isObject(osProfile) && typeof osProfile.customData === 'string' ? osProfile.customData : undefined;
}

export function priorityOf(ss: ScaleSetRecord): 'Regular' | 'Spot' {
  const p = virtualMachineProfileOf(ss).priority;
  return p === 'Spot' || p === 'Low' ? 'Spot' : 'Regular';
}

/** Azure's default for Spot scale sets is Deallocate. */
export function evictionPolicyOf(ss: ScaleSetRecord): 'Delete' | 'Deallocate' {
  return virtualMachineProfileOf(ss).evictionPolicy === 'Delete' ? 'Delete' : 'Deallocate';
}

export const refOf = (ss: Pick<ScaleSetRecord, 'subscriptionId' | 'resourceGroup' | 'name'>): ScaleSetRef => ({
  subscriptionId: ss.subscriptionId,
  resourceGroup: ss.resourceGroup,
  name: ss.name,
});

/** GET of a scale set: customData and secrets are write-only, as on Azure. */
export function scaleSetView(ss: ScaleSetRecord): Json {
  const { properties: rawProperties, ...rest } = ss.model;
  const properties = isObject(rawProperties) ? rawProperties : {};
  let profile = properties.virtualMachineProfile;
  if (isObject(profile) && isObject(profile.osProfile)) {
    const { customData: _c, adminPassword: _p, ...osProfile } = profile.osProfile;
    profile = { ...profile, osProfile };
  }
  return {
    ...rest,
    id: scaleSetId(refOf(ss)),
    name: ss.name,
    type: SCALE_SET_TYPE,
    location: ss.location,
    sku: ss.sku,
    properties: {
      orchestrationMode: 'Uniform',
      upgradePolicy: { mode: 'Manual' },
      ...properties,
      ...(profile !== undefined ? { virtualMachineProfile: profile } : {}),
      provisioningState: ss.provisioningState,
      uniqueId: ss.uniqueId,
      timeCreated: ss.timeCreated,
    },
  };
}

const POWER_DISPLAY: Record<string, string> = {
  starting: 'VM starting',
  running: 'VM running',
  stopping: 'VM stopping',
  stopped: 'VM stopped',
  deallocated: 'VM deallocated',
};

export function instanceStatuses(inst: InstanceRecord): Json[] {
  const provisioning =
    inst.provisioningState === 'Failed'
      ? {
          code: `ProvisioningState/failed/${inst.error?.code ?? 'Unknown'}`,
          level: 'Error',
          displayStatus: 'Provisioning failed',
          message: inst.error?.message,
        }
      : {
          code: `ProvisioningState/${inst.provisioningState.toLowerCase()}`,
          level: 'Info',
          displayStatus: `Provisioning ${inst.provisioningState === 'Succeeded' ? 'succeeded' : inst.provisioningState.toLowerCase()}`,
        };
  return [
    provisioning,
    { code: `PowerState/${inst.powerState}`, level: 'Info', displayStatus: POWER_DISPLAY[inst.powerState] },
  ];
}

/** GET of a scale-set VM; `$expand=instanceView` adds its statuses. */
export function instanceView(ss: ScaleSetRecord, inst: InstanceRecord, expand: boolean): Json {
  const ref = refOf(ss);
  const profile = virtualMachineProfileOf(ss);
  const osProfile = isObject(profile.osProfile) ? profile.osProfile : {};
  const prefix = typeof osProfile.computerNamePrefix === 'string' ? osProfile.computerNamePrefix : ss.name;
  return {
    id: instanceResourceId(ref, inst.instanceId),
    name: inst.name,
    type: SCALE_SET_VM_TYPE,
    location: ss.location,
    instanceId: String(inst.instanceId),
    sku: { name: inst.vmSize, tier: 'Standard' },
    properties: {
      latestModelApplied: inst.modelVersion === ss.modelVersion,
      vmId: inst.vmId,
      provisioningState: inst.provisioningState,
      timeCreated: inst.timeCreated,
      hardwareProfile: { vmSize: inst.vmSize },
      osProfile: {
        // Azure's computer names: prefix + the instance id in base 36, six digits.
        computerName: `${prefix}${inst.instanceId.toString(36).padStart(6, '0')}`,
        ...(typeof osProfile.adminUsername === 'string' ? { adminUsername: osProfile.adminUsername } : {}),
      },
      ...(profile.priority !== undefined ? { priority: profile.priority } : {}),
      ...(expand ? { instanceView: { statuses: instanceStatuses(inst) } } : {}),
    },
  };
}

export function operationView(op: OperationRecord): Json {
  return {
    id: operationPath(op.subscriptionId, op.location, op.id),
    name: op.id,
    status: op.status,
    startTime: op.startTime,
    ...(op.endTime ? { endTime: op.endTime } : {}),
    ...(op.error ? { error: op.error } : {}),
  };
}
