import { z } from 'zod';
import { addRuleIssue, caseInsensitiveEnum, int32, nonEmptyString } from './schema-primitives.js';

// The nine toolkit settings of a job (BatchAI.json: CNTKsettings ... HorovodSettings). A job names exactly one;
// which one determines the read-only `toolType`.

const processCount = () => int32().min(1).optional();

export const cntkSettingsSchema = z
  .strictObject({
    languageType: caseInsensitiveEnum(['BrainScript', 'Python']).optional(),
    configFilePath: nonEmptyString().optional(),
    pythonScriptFilePath: nonEmptyString().optional(),
    pythonInterpreterPath: nonEmptyString().optional(),
    commandLineArgs: z.string().optional(),
    processCount: processCount(),
  })
  .superRefine((s, ctx) => {
    const language = s.languageType ?? (s.configFilePath !== undefined ? 'BrainScript' : 'Python');
    if (language === 'Python') {
      if (s.pythonScriptFilePath === undefined) {
        addRuleIssue(ctx, "a CNTK Python job needs 'pythonScriptFilePath' (or set languageType to 'BrainScript')", [
          'pythonScriptFilePath',
        ]);
      }
      if (s.configFilePath !== undefined) {
        addRuleIssue(ctx, "'configFilePath' can be specified only if languageType is 'BrainScript'", [
          'configFilePath',
        ]);
      }
    } else {
      if (s.configFilePath === undefined) {
        addRuleIssue(ctx, "a BrainScript job needs 'configFilePath'", ['configFilePath']);
      }
      for (const name of ['pythonScriptFilePath', 'pythonInterpreterPath'] as const) {
        if (s[name] !== undefined) {
          addRuleIssue(ctx, `'${name}' can be specified only if languageType is 'Python'`, [name]);
        }
      }
    }
  })
  // The service reports the language it inferred, as it did in `az batchai job show` output.
  .transform((s) => ({
    ...s,
    languageType: s.languageType ?? (s.configFilePath !== undefined ? ('BrainScript' as const) : ('Python' as const)),
  }));

export const pyTorchSettingsSchema = z.strictObject({
  pythonScriptFilePath: nonEmptyString(),
  pythonInterpreterPath: nonEmptyString().optional(),
  commandLineArgs: z.string().optional(),
  processCount: processCount(),
  communicationBackend: caseInsensitiveEnum(['TCP', 'Gloo', 'MPI']).optional(),
});

export const tensorFlowSettingsSchema = z.strictObject({
  pythonScriptFilePath: nonEmptyString(),
  pythonInterpreterPath: nonEmptyString().optional(),
  masterCommandLineArgs: z.string().optional(),
  workerCommandLineArgs: z.string().optional(),
  parameterServerCommandLineArgs: z.string().optional(),
  workerCount: int32().min(1).optional(),
  parameterServerCount: int32().min(0).optional(),
});

export const caffeSettingsSchema = z
  .strictObject({
    configFilePath: nonEmptyString().optional(),
    pythonScriptFilePath: nonEmptyString().optional(),
    pythonInterpreterPath: nonEmptyString().optional(),
    commandLineArgs: z.string().optional(),
    processCount: processCount(),
  })
  .superRefine((s, ctx) => {
    if ((s.configFilePath === undefined) === (s.pythonScriptFilePath === undefined)) {
      addRuleIssue(ctx, "exactly one of 'configFilePath' or 'pythonScriptFilePath' must be specified");
    }
    if (s.pythonInterpreterPath !== undefined && s.pythonScriptFilePath === undefined) {
      addRuleIssue(ctx, "'pythonInterpreterPath' can be specified only with 'pythonScriptFilePath'", [
        'pythonInterpreterPath',
      ]);
    }
  });

export const caffe2SettingsSchema = z.strictObject({
  pythonScriptFilePath: nonEmptyString(),
  pythonInterpreterPath: nonEmptyString().optional(),
  commandLineArgs: z.string().optional(),
});

export const chainerSettingsSchema = z.strictObject({
  pythonScriptFilePath: nonEmptyString(),
  pythonInterpreterPath: nonEmptyString().optional(),
  commandLineArgs: z.string().optional(),
  processCount: processCount(),
});

export const customToolkitSettingsSchema = z.strictObject({
  // The spec makes commandLine optional here, unlike customMpiSettings; kept as the spec says.
  commandLine: z.string().optional(),
});

export const customMpiSettingsSchema = z.strictObject({
  commandLine: nonEmptyString(),
  processCount: processCount(),
});

export const horovodSettingsSchema = z.strictObject({
  pythonScriptFilePath: nonEmptyString(),
  pythonInterpreterPath: nonEmptyString().optional(),
  commandLineArgs: z.string().optional(),
  processCount: processCount(),
});

/**
 * Values of the read-only `toolType`. The spec's ToolType enum omits `pytorch` although its description lists it and
 * the service returned it for pyTorchSettings jobs; the enum is modelAsString, so generated clients accept it.
 */
export const TOOL_TYPES = [
  'cntk',
  'tensorflow',
  'caffe',
  'caffe2',
  'chainer',
  'horovod',
  'mpi',
  'custom',
  'pytorch',
] as const;
export type ToolType = (typeof TOOL_TYPES)[number];

/** Each toolkit property of a job, its toolType, and whether it takes `processCount` (defaulting to nodeCount). */
export const TOOLKITS = [
  { property: 'cntkSettings', toolType: 'cntk', hasProcessCount: true },
  { property: 'pyTorchSettings', toolType: 'pytorch', hasProcessCount: true },
  { property: 'tensorFlowSettings', toolType: 'tensorflow', hasProcessCount: false },
  { property: 'caffeSettings', toolType: 'caffe', hasProcessCount: true },
  { property: 'caffe2Settings', toolType: 'caffe2', hasProcessCount: false },
  { property: 'chainerSettings', toolType: 'chainer', hasProcessCount: true },
  { property: 'customToolkitSettings', toolType: 'custom', hasProcessCount: false },
  { property: 'customMpiSettings', toolType: 'mpi', hasProcessCount: true },
  { property: 'horovodSettings', toolType: 'horovod', hasProcessCount: true },
] as const satisfies ReadonlyArray<{ property: string; toolType: ToolType; hasProcessCount: boolean }>;

export type ToolkitProperty = (typeof TOOLKITS)[number]['property'];
export const TOOLKIT_PROPERTIES: readonly ToolkitProperty[] = TOOLKITS.map((t) => t.property);

export type CntkSettings = z.output<typeof cntkSettingsSchema>;
export type PyTorchSettings = z.output<typeof pyTorchSettingsSchema>;
export type TensorFlowSettings = z.output<typeof tensorFlowSettingsSchema>;
export type CaffeSettings = z.output<typeof caffeSettingsSchema>;
export type Caffe2Settings = z.output<typeof caffe2SettingsSchema>;
export type ChainerSettings = z.output<typeof chainerSettingsSchema>;
export type CustomToolkitSettings = z.output<typeof customToolkitSettingsSchema>;
export type CustomMpiSettings = z.output<typeof customMpiSettingsSchema>;
export type HorovodSettings = z.output<typeof horovodSettingsSchema>;
