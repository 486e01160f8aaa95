import { z } from 'zod';
import { clusterPropertiesSchema, clusterUpdatePropertiesSchema } from './cluster-schema.js';
import { fileServerPropertiesSchema } from './file-server-schema.js';
import { jobPropertiesSchema } from './job-schema.js';
import { workspaceCreateSchema, workspaceUpdateSchema } from './workspace-schema.js';

// JSON Schema of each request body, from the same zod schemas that validate them, for the OpenAPI 2.0 document.
// Keys are the spec's definition names so the document can keep its `$ref`s. The schemas describe the input
// (defaults optional), and omit the rules JSON Schema cannot state (exactly one toolkit, one-of secret pairs,
// resource id shapes); the API still enforces those.

export type JsonSchema = Record<string, unknown>;

export const REQUEST_BODY_SCHEMAS = {
  WorkspaceCreateParameters: workspaceCreateSchema,
  WorkspaceUpdateParameters: workspaceUpdateSchema,
  JobCreateParameters: z.object({ properties: jobPropertiesSchema }),
  ClusterCreateParameters: z.object({ properties: clusterPropertiesSchema }),
  ClusterUpdateParameters: z.object({ properties: clusterUpdatePropertiesSchema.optional() }),
  FileServerCreateParameters: z.object({ properties: fileServerPropertiesSchema }),
} as const;

export type RequestBodyName = keyof typeof REQUEST_BODY_SCHEMAS;

export function toJsonSchemas(): Record<RequestBodyName, JsonSchema> {
  const out = {} as Record<RequestBodyName, JsonSchema>;
  for (const name of Object.keys(REQUEST_BODY_SCHEMAS) as RequestBodyName[]) {
    out[name] = toOpenApi2Schema(REQUEST_BODY_SCHEMAS[name]);
  }
  return out;
}

/** Draft-04 output (what OpenAPI 2.0's Schema Object is based on) without the `$schema` keyword Swagger rejects. */
export function toOpenApi2Schema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'draft-04',
    io: 'input',
    reused: 'inline',
    // zod drops the default of a `.default()` wrapping a transform (our case-insensitive enums and durations).
    override: ({ zodSchema, jsonSchema }) => {
      const def = zodSchema._zod.def;
      if (def.type === 'default' && jsonSchema.default === undefined) {
        jsonSchema.default = (def as unknown as { defaultValue: unknown }).defaultValue;
      }
    },
  }) as JsonSchema;
  const { $schema: _ignored, ...rest } = json;
  return rest;
}
