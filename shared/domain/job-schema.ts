import { z } from 'zod';
import {
  environmentVariablesSchema,
  keyVaultSecretReferenceSchema,
  requireUnique,
  secretsSchema,
} from './common-schema.js';
import { DEFAULT_MAX_WALL_CLOCK_TIME } from './duration.js';
import { mountVolumesSchema } from './mount-volumes-schema.js';
import { relativePathProblem } from './relative-path.js';
import { retryPolicySchema } from './retry-policy.js';
import {
  addRuleIssue,
  batchAiResourceRef,
  caseInsensitiveEnum,
  duration,
  int32,
  nonEmptyString,
  requireExactlyOne,
} from './schema-primitives.js';
import {
  caffe2SettingsSchema,
  caffeSettingsSchema,
  chainerSettingsSchema,
  cntkSettingsSchema,
  customMpiSettingsSchema,
  customToolkitSettingsSchema,
  horovodSettingsSchema,
  pyTorchSettingsSchema,
  TOOLKITS,
  type ToolkitProperty,
  type ToolType,
  tensorFlowSettingsSchema,
} from './toolkit-schema.js';

// JobBaseProperties of BatchAI.json: the `properties` of PUT .../jobs/{jobName}. Jobs cannot be updated.

export const JOB_PRIORITIES = ['low', 'normal', 'high'] as const;
export type JobPriority = (typeof JOB_PRIORITIES)[number];

export const privateRegistryCredentialsSchema = z
  .strictObject({
    username: nonEmptyString(),
    password: z.string().min(1).optional().describe('Write-only: never returned.'),
    passwordSecretReference: keyVaultSecretReferenceSchema.optional(),
  })
  .superRefine((v, ctx) => requireExactlyOne(ctx, v, ['password', 'passwordSecretReference']));

export const containerSettingsSchema = z.strictObject({
  imageSourceRegistry: z.strictObject({
    serverUrl: nonEmptyString().optional(),
    image: nonEmptyString(),
    credentials: privateRegistryCredentialsSchema.optional(),
  }),
  // Docker's --shm-size format: a number of bytes with an optional b, k, m or g unit.
  shmSize: z
    .string()
    .superRefine((size, ctx) => {
      if (!/^[1-9]\d*[bkmg]?$/i.test(size))
        addRuleIssue(ctx, "a size such as '2g', '512m' or '1073741824' is required");
    })
    .optional(),
});

// Directory ids become part of environment variable names (AZ_BATCHAI_INPUT_<id>, AZ_BATCHAI_OUTPUT_<id>).
const directoryId = () =>
  z.string().superRefine((id, ctx) => {
    if (!/^[A-Za-z0-9_]+$/.test(id)) {
      addRuleIssue(ctx, 'an id contains only letters, digits and _ (it becomes part of an environment variable name)');
    }
  });

export const inputDirectorySchema = z.strictObject({
  id: directoryId(),
  path: nonEmptyString(),
});

export const outputDirectorySchema = z.strictObject({
  id: directoryId(),
  pathPrefix: nonEmptyString(),
  // Appended below pathPrefix on the node: it may not climb out of it.
  pathSuffix: z
    .string()
    .superRefine((suffix, ctx) => {
      const problem = relativePathProblem(suffix, { allowDot: true });
      if (problem) addRuleIssue(ctx, problem);
    })
    .optional(),
});

export const jobPreparationSchema = z.strictObject({ commandLine: nonEmptyString() });

export const jobConstraintsSchema = z.strictObject({
  maxWallClockTime: duration().default(DEFAULT_MAX_WALL_CLOCK_TIME),
});

export const jobPropertiesObjectSchema = z.strictObject({
  schedulingPriority: caseInsensitiveEnum(JOB_PRIORITIES).default('normal'),
  cluster: batchAiResourceRef('cluster'),
  mountVolumes: mountVolumesSchema.optional(),
  nodeCount: int32().min(1),
  containerSettings: containerSettingsSchema.optional(),
  cntkSettings: cntkSettingsSchema.optional(),
  pyTorchSettings: pyTorchSettingsSchema.optional(),
  tensorFlowSettings: tensorFlowSettingsSchema.optional(),
  caffeSettings: caffeSettingsSchema.optional(),
  caffe2Settings: caffe2SettingsSchema.optional(),
  chainerSettings: chainerSettingsSchema.optional(),
  customToolkitSettings: customToolkitSettingsSchema.optional(),
  customMpiSettings: customMpiSettingsSchema.optional(),
  horovodSettings: horovodSettingsSchema.optional(),
  jobPreparation: jobPreparationSchema.optional(),
  stdOutErrPathPrefix: nonEmptyString(),
  inputDirectories: z.array(inputDirectorySchema).optional(),
  outputDirectories: z.array(outputDirectorySchema).optional(),
  environmentVariables: environmentVariablesSchema.optional(),
  secrets: secretsSchema.optional(),
  constraints: jobConstraintsSchema.prefault({}),
  // Extension (docs/decisions/0105): retries after the job's own failure. Absent: Batch AI's behaviour (failed).
  'x-batchai-retryPolicy': retryPolicySchema.optional(),
});

type JobPropertiesObject = z.output<typeof jobPropertiesObjectSchema>;

export const jobPropertiesSchema = jobPropertiesObjectSchema
  .superRefine((job, ctx) => {
    const present = presentToolkits(job);
    if (present.length === 0) {
      addRuleIssue(ctx, 'none is specified', [], 'InvalidToolkitSettings');
    }
    for (const extra of present.slice(1)) {
      addRuleIssue(ctx, `'${present[0]}' and '${extra}' are both specified`, [extra], 'InvalidToolkitSettings');
    }
    const ps = job.tensorFlowSettings?.parameterServerCount;
    if (ps !== undefined && ps > job.nodeCount) {
      addRuleIssue(ctx, `must be less than or equal to nodeCount (${job.nodeCount})`, [
        'tensorFlowSettings',
        'parameterServerCount',
      ]);
    }
    requireUnique(ctx, job.inputDirectories, (d) => d.id, 'input directory id', ['inputDirectories']);
    requireUnique(ctx, job.outputDirectories, (d) => d.id, 'output directory id', ['outputDirectories']);
  })
  .transform(applyProcessCountDefaults);

export type JobProperties = z.output<typeof jobPropertiesSchema>;
export type JobPropertiesInput = z.input<typeof jobPropertiesSchema>;

function presentToolkits(job: Partial<Record<ToolkitProperty, unknown>>): ToolkitProperty[] {
  return TOOLKITS.filter((t) => job[t.property] !== undefined).map((t) => t.property);
}

// "The default value for this property is equal to nodeCount property" (spec, every toolkit with processCount).
function applyProcessCountDefaults(job: JobPropertiesObject): JobPropertiesObject {
  const out: JobPropertiesObject = { ...job };
  for (const toolkit of TOOLKITS) {
    if (!toolkit.hasProcessCount) continue;
    const settings = out[toolkit.property] as { processCount?: number } | undefined;
    if (settings !== undefined && settings.processCount === undefined) {
      Object.assign(out, { [toolkit.property]: { ...settings, processCount: job.nodeCount } });
    }
  }
  return out;
}

/** The read-only `toolType` of a validated job (which always has exactly one toolkit; `custom` is never a guess). */
export function toolTypeOf(job: Partial<Record<ToolkitProperty, unknown>>): ToolType {
  const toolkit = TOOLKITS.find((t) => job[t.property] !== undefined);
  return toolkit?.toolType ?? 'custom';
}
