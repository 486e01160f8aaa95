import { z } from 'zod';
import { userAccountSettingsSchema } from './common-schema.js';
import { SUBNET } from './resource-id.js';
import { caseInsensitiveEnum, foreignResourceRef, int32, nonEmptyString } from './schema-primitives.js';

// FileServerBaseProperties of BatchAI.json: the `properties` of PUT .../fileServers/{fileServerName}.

export const CACHING_TYPES = ['none', 'readonly', 'readwrite'] as const;
export const STORAGE_ACCOUNT_TYPES = ['Standard_LRS', 'Premium_LRS'] as const;

export const dataDisksSchema = z.strictObject({
  // Azure managed data disks are 1 GiB to 32 TiB.
  diskSizeInGB: int32().min(1).max(32_767),
  cachingType: caseInsensitiveEnum(CACHING_TYPES).default('none'),
  diskCount: int32().min(1),
  storageAccountType: caseInsensitiveEnum(STORAGE_ACCOUNT_TYPES),
});

export const sshConfigurationSchema = z.strictObject({
  // The spec allows at most 400 ranges.
  publicIPsToAllow: z.array(nonEmptyString()).max(400).optional(),
  userAccountSettings: userAccountSettingsSchema,
});

export const fileServerPropertiesSchema = z.strictObject({
  vmSize: nonEmptyString(),
  sshConfiguration: sshConfigurationSchema,
  dataDisks: dataDisksSchema,
  subnet: foreignResourceRef(SUBNET).optional(),
});

export type FileServerProperties = z.output<typeof fileServerPropertiesSchema>;
