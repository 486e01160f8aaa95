import { z } from 'zod';
import { keyVaultSecretReferenceSchema } from './common-schema.js';
import { relativePathProblem } from './relative-path.js';
import { addRuleIssue, batchAiResourceRef, nonEmptyString, requireExactlyOne } from './schema-primitives.js';

// MountVolumes and its references (BatchAI.json: AzureFileShareReference, AzureBlobFileSystemReference,
// FileServerReference, UnmanagedFileSystemReference).

export const DEFAULT_FILE_MODE = '0777';

export const azureStorageCredentialsSchema = z
  .strictObject({
    accountKey: z.string().min(1).optional().describe('Write-only: never returned.'),
    accountKeySecretReference: keyVaultSecretReferenceSchema.optional(),
  })
  .superRefine((v, ctx) => requireExactlyOne(ctx, v, ['accountKey', 'accountKeySecretReference']));

// Mounts land under $AZ_BATCHAI_MOUNT_ROOT / $AZ_BATCHAI_JOB_MOUNT_ROOT; a path escaping it would mount over the node.
const relativeMountPath = () =>
  z.string().superRefine((path, ctx) => {
    if (path.length === 0 || relativePathProblem(path) !== undefined) {
      addRuleIssue(ctx, "a relative path without '.' or '..' segments is required, e.g. 'azfiles'");
    }
  });

const fileMode = () =>
  z
    .string()
    .superRefine((mode, ctx) => {
      if (!/^0?[0-7]{3}$/.test(mode)) addRuleIssue(ctx, "an octal file mode such as '0777' is required");
    })
    .default(DEFAULT_FILE_MODE);

const httpUrl = (example: string) =>
  z.string().superRefine((text, ctx) => {
    let ok = false;
    try {
      const url = new URL(text);
      ok = url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      ok = false;
    }
    if (!ok) addRuleIssue(ctx, `an http(s) URL is required, e.g. '${example}'`);
  });

export const azureFileShareReferenceSchema = z.strictObject({
  accountName: nonEmptyString(),
  azureFileUrl: httpUrl('https://{account}.file.core.windows.net/{share}'),
  credentials: azureStorageCredentialsSchema,
  relativeMountPath: relativeMountPath(),
  fileMode: fileMode(),
  directoryMode: fileMode(),
});

export const azureBlobFileSystemReferenceSchema = z.strictObject({
  accountName: nonEmptyString(),
  containerName: nonEmptyString(),
  credentials: azureStorageCredentialsSchema,
  relativeMountPath: relativeMountPath(),
  mountOptions: z.string().optional(),
});

export const fileServerReferenceSchema = z.strictObject({
  fileServer: batchAiResourceRef('fileServer'),
  sourceDirectory: z.string().optional(),
  relativeMountPath: relativeMountPath(),
  mountOptions: z.string().optional(),
});

export const unmanagedFileSystemReferenceSchema = z.strictObject({
  mountCommand: nonEmptyString(),
  relativeMountPath: relativeMountPath(),
});

export const mountVolumesSchema = z
  .strictObject({
    azureFileShares: z.array(azureFileShareReferenceSchema).optional(),
    azureBlobFileSystems: z.array(azureBlobFileSystemReferenceSchema).optional(),
    fileServers: z.array(fileServerReferenceSchema).optional(),
    unmanagedFileSystems: z.array(unmanagedFileSystemReferenceSchema).optional(),
  })
  .superRefine((volumes, ctx) => {
    // Two volumes on one mount path would hide each other.
    const seen = new Set<string>();
    for (const mount of listMounts(volumes)) {
      if (seen.has(mount.relativeMountPath)) {
        addRuleIssue(ctx, `the path '${mount.relativeMountPath}' is used by another mount volume`, [
          mount.kind,
          mount.index,
          'relativeMountPath',
        ]);
      }
      seen.add(mount.relativeMountPath);
    }
  });

export type MountVolumes = z.output<typeof mountVolumesSchema>;
export type AzureStorageCredentials = z.output<typeof azureStorageCredentialsSchema>;

type MountKind = keyof MountVolumes;

/** Every mount of a MountVolumes in a fixed order, tagged with the list it came from. */
export function listMounts(
  volumes: {
    [K in MountKind]?: ReadonlyArray<{ relativeMountPath: string }> | undefined;
  },
): Array<{ kind: MountKind; index: number; relativeMountPath: string }> {
  const kinds: MountKind[] = ['azureFileShares', 'azureBlobFileSystems', 'fileServers', 'unmanagedFileSystems'];
  return kinds.flatMap((kind) =>
    (volumes[kind] ?? []).map((m, index) => ({ kind, index, relativeMountPath: m.relativeMountPath })),
  );
}
