import { z } from 'zod';
import {
  environmentVariablesSchema,
  keyVaultSecretReferenceSchema,
  secretsSchema,
  userAccountSettingsSchema,
} from './common-schema.js';
import { mountVolumesSchema } from './mount-volumes-schema.js';
import { APP_INSIGHTS_COMPONENT, SUBNET, VM_IMAGE } from './resource-id.js';
import {
  addRuleIssue,
  caseInsensitiveEnum,
  foreignResourceIdString,
  foreignResourceRef,
  int32,
  nonEmptyString,
  requireExactlyOne,
} from './schema-primitives.js';

// ClusterBaseProperties (PUT) and ClusterUpdateProperties (PATCH) of BatchAI.json.

export const VM_PRIORITIES = ['dedicated', 'lowpriority'] as const;
export type VmPriority = (typeof VM_PRIORITIES)[number];

export const DEALLOCATION_OPTIONS = ['requeue', 'terminate', 'waitforjobcompletion'] as const;
export type DeallocationOption = (typeof DEALLOCATION_OPTIONS)[number];

/** The image the service used when none was given (shown in the spec's PutCluster/GetCluster responses). */
export const DEFAULT_IMAGE_REFERENCE = {
  publisher: 'Canonical',
  offer: 'UbuntuServer',
  sku: '16.04-LTS',
  version: 'latest',
} as const;

export const manualScaleSettingsSchema = z.strictObject({
  targetNodeCount: int32().min(0),
  nodeDeallocationOption: caseInsensitiveEnum(DEALLOCATION_OPTIONS).default('requeue'),
});

export const autoScaleSettingsSchema = z
  .strictObject({
    minimumNodeCount: int32().min(0),
    maximumNodeCount: int32().min(1),
    initialNodeCount: int32().min(0).default(0),
  })
  .superRefine((s, ctx) => {
    if (s.minimumNodeCount > s.maximumNodeCount) {
      addRuleIssue(ctx, `must be less than or equal to maximumNodeCount (${s.maximumNodeCount})`, ['minimumNodeCount']);
    }
    if (s.initialNodeCount > s.maximumNodeCount) {
      addRuleIssue(ctx, `must be less than or equal to maximumNodeCount (${s.maximumNodeCount})`, ['initialNodeCount']);
    }
  });

export const scaleSettingsSchema = z
  .strictObject({
    manual: manualScaleSettingsSchema.optional(),
    autoScale: autoScaleSettingsSchema.optional(),
  })
  .superRefine((s, ctx) => requireExactlyOne(ctx, s, ['manual', 'autoScale']));

export const imageReferenceSchema = z.strictObject({
  publisher: nonEmptyString(),
  offer: nonEmptyString(),
  sku: nonEmptyString(),
  version: nonEmptyString().optional(),
  virtualMachineImageId: foreignResourceIdString(VM_IMAGE).optional(),
});

export const virtualMachineConfigurationSchema = z.strictObject({
  imageReference: imageReferenceSchema.optional(),
});

export const setupTaskSchema = z.strictObject({
  commandLine: nonEmptyString(),
  environmentVariables: environmentVariablesSchema.optional(),
  secrets: secretsSchema.optional(),
  stdOutErrPathPrefix: nonEmptyString(),
});

export const appInsightsReferenceSchema = z
  .strictObject({
    component: foreignResourceRef(APP_INSIGHTS_COMPONENT),
    instrumentationKey: z.string().min(1).optional().describe('Write-only: never returned.'),
    instrumentationKeySecretReference: keyVaultSecretReferenceSchema.optional(),
  })
  .superRefine((v, ctx) => requireExactlyOne(ctx, v, ['instrumentationKey', 'instrumentationKeySecretReference']));

export const nodeSetupSchema = z.strictObject({
  setupTask: setupTaskSchema.optional(),
  mountVolumes: mountVolumesSchema.optional(),
  performanceCountersSettings: z.strictObject({ appInsightsReference: appInsightsReferenceSchema }).optional(),
});

export const clusterPropertiesSchema = z
  .strictObject({
    vmSize: nonEmptyString(),
    vmPriority: caseInsensitiveEnum(VM_PRIORITIES).default('dedicated'),
    scaleSettings: scaleSettingsSchema.optional(),
    virtualMachineConfiguration: virtualMachineConfigurationSchema.optional(),
    nodeSetup: nodeSetupSchema.optional(),
    userAccountSettings: userAccountSettingsSchema,
    subnet: foreignResourceRef(SUBNET).optional(),
  })
  .transform(({ scaleSettings, virtualMachineConfiguration, ...rest }) => ({
    ...rest,
    // A cluster created without scale settings starts empty (ManualScaleSettings' own default is 0 nodes).
    scaleSettings: scaleSettings ?? {
      manual: { targetNodeCount: 0, nodeDeallocationOption: 'requeue' as DeallocationOption },
    },
    virtualMachineConfiguration: {
      imageReference: virtualMachineConfiguration?.imageReference ?? { ...DEFAULT_IMAGE_REFERENCE },
    },
  }));

export const clusterUpdatePropertiesSchema = z.strictObject({
  scaleSettings: scaleSettingsSchema.optional(),
});

export type ClusterProperties = z.output<typeof clusterPropertiesSchema>;
export type ClusterUpdateProperties = z.output<typeof clusterUpdatePropertiesSchema>;
export type ScaleSettings = z.output<typeof scaleSettingsSchema>;

/** PATCH semantics: only scale settings change; everything else is fixed at creation. */
export function applyClusterUpdate(cluster: ClusterProperties, update: ClusterUpdateProperties): ClusterProperties {
  return update.scaleSettings === undefined ? cluster : { ...cluster, scaleSettings: update.scaleSettings };
}

/** The node count the cluster should have now: manual target, or autoscale's initial count at creation. */
export function initialTargetNodeCount(scale: ScaleSettings): number {
  if (scale.manual !== undefined) return scale.manual.targetNodeCount;
  return scale.autoScale?.initialNodeCount ?? 0;
}
