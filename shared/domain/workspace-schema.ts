import { z } from 'zod';
import { nonEmptyString } from './schema-primitives.js';

// Workspaces are tracked resources (location + tags at the top level of the body); experiments have no writable
// properties at all.

// ARM's tag limits: 50 tags, names up to 512 characters, values up to 256.
export const tagsSchema = z.record(z.string().min(1).max(512), z.string().max(256)).superRefine((tags, ctx) => {
  if (Object.keys(tags).length > 50) ctx.addIssue({ code: 'too_big', maximum: 50, origin: 'object', input: tags });
});

export const workspaceCreateSchema = z.object({
  location: nonEmptyString(),
  tags: tagsSchema.optional(),
});

export const workspaceUpdateSchema = z.object({
  tags: tagsSchema.optional(),
});

export const experimentPropertiesSchema = z.strictObject({});

export type WorkspaceCreate = z.output<typeof workspaceCreateSchema>;
export type WorkspaceUpdate = z.output<typeof workspaceUpdateSchema>;
export type Tags = z.output<typeof tagsSchema>;
