import { z } from 'zod';
import { normalizeDuration } from './duration.js';
import {
  type BatchAiResourceKind,
  type ForeignResourceType,
  parseArmResourceIdOf,
  parseBatchAiResourceIdOf,
  RESOURCE_DESCRIPTIONS,
} from './resource-id.js';

// Building blocks shared by the resource schemas. Custom checks attach `params.apiCode` (a code of api-errors.ts) and
// `params.reason` to their issues; validation-issues.ts turns those into error details without parsing messages.

export interface IssueParams {
  apiCode: 'InvalidPropertyValue' | 'InvalidResourceId' | 'InvalidToolkitSettings';
  reason: string;
  expected?: string;
}

export const nonEmptyString = () => z.string().min(1);

/** The spec types every count as int32. */
export const int32 = () => z.int32();

/**
 * A string enum read case-insensitively and written in the spec's casing. The service deserialized enums with a
 * case-insensitive converter, so `Dedicated` and `LowPriority` were accepted; we keep that.
 */
export function caseInsensitiveEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .string()
    .transform((input, ctx): T[number] => {
      const match = values.find((v) => v.toLowerCase() === input.toLowerCase());
      if (match === undefined) {
        ctx.issues.push({ code: 'invalid_value', values: [...values], input });
        return z.NEVER;
      }
      return match;
    })
    .meta({ enum: [...values] });
}

export function duration() {
  return z
    .string()
    .transform((input, ctx) => {
      const parsed = normalizeDuration(input);
      if (!parsed.ok) {
        const params: IssueParams = { apiCode: 'InvalidPropertyValue', reason: parsed.reason };
        ctx.issues.push({ code: 'custom', input, params });
        return z.NEVER;
      }
      return parsed.value;
    })
    .meta({ format: 'duration' });
}

/** `{ id }` naming one Batch AI resource kind (the spec's ResourceId). */
export function batchAiResourceRef(kind: BatchAiResourceKind) {
  return z.strictObject({
    id: z.string().superRefine((id, ctx) => {
      const parsed = parseBatchAiResourceIdOf(kind, id);
      if (!parsed.ok) {
        const params: IssueParams = {
          apiCode: 'InvalidResourceId',
          expected: RESOURCE_DESCRIPTIONS[kind],
          reason: parsed.reason,
        };
        ctx.addIssue({ code: 'custom', input: id, params });
      }
    }),
  });
}

/** A resource id string of another provider's resource type (subnet, Key Vault, ...). */
export function foreignResourceIdString(type: ForeignResourceType) {
  return z.string().superRefine((id, ctx) => {
    const parsed = parseArmResourceIdOf(type, id);
    if (!parsed.ok) {
      const params: IssueParams = { apiCode: 'InvalidResourceId', expected: type.description, reason: parsed.reason };
      ctx.addIssue({ code: 'custom', input: id, params });
    }
  });
}

export function foreignResourceRef(type: ForeignResourceType) {
  return z.strictObject({ id: foreignResourceIdString(type) });
}

/** Reports a cross-field rule on the object being refined (or one of its properties). */
export function addRuleIssue(
  ctx: z.RefinementCtx,
  reason: string,
  path: PropertyKey[] = [],
  apiCode: IssueParams['apiCode'] = 'InvalidPropertyValue',
): void {
  const params: IssueParams = { apiCode, reason };
  ctx.addIssue({ code: 'custom', path, params, input: undefined });
}

/** For `X or XSecretReference` pairs where the spec says exactly one must be given. */
export function requireExactlyOne(
  ctx: z.RefinementCtx,
  value: Record<string, unknown>,
  names: readonly [string, string],
): void {
  const present = names.filter((n) => value[n] !== undefined);
  if (present.length !== 1) {
    addRuleIssue(
      ctx,
      present.length === 0
        ? `one of '${names[0]}' or '${names[1]}' must be specified`
        : `only one of '${names[0]}' or '${names[1]}' may be specified`,
    );
  }
}
