import { z } from 'zod';
import { KEY_VAULT } from './resource-id.js';
import { addRuleIssue, foreignResourceRef, nonEmptyString, requireExactlyOne } from './schema-primitives.js';

// Definitions of BatchAI.json used by more than one resource. Objects are strict (unknown names are rejected, see
// validate-body.ts for why).

// Environment variable names end up in a shell environment on the node; anything else would fail at launch time,
// long after the PUT returned 200, so reject it up front.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const environmentVariableName = () =>
  z.string().superRefine((name, ctx) => {
    if (!ENV_NAME.test(name)) {
      addRuleIssue(
        ctx,
        'an environment variable name starts with a letter or _ and contains only letters, digits and _',
      );
    }
  });

export const keyVaultSecretReferenceSchema = z
  .strictObject({
    sourceVault: foreignResourceRef(KEY_VAULT),
    secretUrl: z.string().superRefine((url, ctx) => {
      if (!isKeyVaultSecretUrl(url)) {
        addRuleIssue(
          ctx,
          "a Key Vault secret URL looks like 'https://{vault}.vault.azure.net/secrets/{name}[/{version}]'",
        );
      }
    }),
  })
  .describe('Key Vault and secret holding a value that must not be sent in clear.');

function isKeyVaultSecretUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') && /^\/secrets\/[^/]+(\/[^/]+)?\/?$/.test(url.pathname)
    );
  } catch {
    return false;
  }
}

export const environmentVariableSchema = z.strictObject({
  name: environmentVariableName(),
  value: z.string(),
});

export const environmentVariableWithSecretValueSchema = z
  .strictObject({
    name: environmentVariableName(),
    value: z.string().optional().describe('Write-only: never returned.'),
    valueSecretReference: keyVaultSecretReferenceSchema.optional(),
  })
  .superRefine((v, ctx) => requireExactlyOne(ctx, v, ['value', 'valueSecretReference']));

export const userAccountSettingsSchema = z.strictObject({
  adminUserName: nonEmptyString(),
  adminUserSshPublicKey: z.string().optional(),
  adminUserPassword: z.string().optional().describe('Write-only: never returned.'),
});

/** Names must be unique within one list: the second definition would silently win on the node. */
export function uniqueBy<T>(
  ctx: z.RefinementCtx,
  items: readonly T[] | undefined,
  key: (item: T) => string,
  what: string,
) {
  requireUnique(ctx, items, key, what, []);
}

export const environmentVariablesSchema = z
  .array(environmentVariableSchema)
  .superRefine((list, ctx) => uniqueBy(ctx, list, (e) => e.name, 'environment variable'));

export const secretsSchema = z
  .array(environmentVariableWithSecretValueSchema)
  .superRefine((list, ctx) => uniqueBy(ctx, list, (e) => e.name, 'environment variable'));

export const ENVIRONMENT_VARIABLE_NAME_PATTERN = ENV_NAME;

export type KeyVaultSecretReference = z.output<typeof keyVaultSecretReferenceSchema>;
export type EnvironmentVariable = z.output<typeof environmentVariableSchema>;
export type EnvironmentVariableWithSecretValue = z.output<typeof environmentVariableWithSecretValueSchema>;
export type UserAccountSettings = z.output<typeof userAccountSettingsSchema>;

/** Reports every repeated key; `prefix` is the list's path relative to the object being refined. */
export function requireUnique<T>(
  ctx: z.RefinementCtx,
  items: readonly T[] | undefined,
  key: (item: T) => string,
  what: string,
  prefix: PropertyKey[],
) {
  if (items === undefined) return;
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const k = key(item);
    if (seen.has(k)) addRuleIssue(ctx, `${what} '${k}' is defined more than once`, [...prefix, index]);
    seen.add(k);
  });
}
