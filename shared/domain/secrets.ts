import type { ClusterProperties } from './cluster-schema.js';
import type { AzureStorageCredentials, MountVolumes } from './mount-volumes-schema.js';

// Write-only values (the spec: "Server will never report values of these variables back") and how to drop them.
// Views rebuild secret-bearing objects field by field instead of deleting known keys, so a field added later is
// left out of responses until someone decides it is safe to return.

/** Property names whose values are secrets wherever they appear in a request body. */
export const WRITE_ONLY_PROPERTY_NAMES = ['accountKey', 'password', 'adminUserPassword', 'instrumentationKey'] as const;

interface KeyVaultRef {
  sourceVault: { id: string };
  secretUrl: string;
}

export function redactCredentials(credentials: AzureStorageCredentials): { accountKeySecretReference?: KeyVaultRef } {
  return credentials.accountKeySecretReference === undefined
    ? {}
    : { accountKeySecretReference: credentials.accountKeySecretReference };
}

export function redactMountVolumes(volumes: MountVolumes): MountVolumes {
  const out: MountVolumes = {};
  if (volumes.azureFileShares !== undefined) {
    out.azureFileShares = volumes.azureFileShares.map((share) => ({
      ...share,
      credentials: redactCredentials(share.credentials),
    }));
  }
  if (volumes.azureBlobFileSystems !== undefined) {
    out.azureBlobFileSystems = volumes.azureBlobFileSystems.map((blob) => ({
      ...blob,
      credentials: redactCredentials(blob.credentials),
    }));
  }
  if (volumes.fileServers !== undefined) out.fileServers = volumes.fileServers;
  if (volumes.unmanagedFileSystems !== undefined) out.unmanagedFileSystems = volumes.unmanagedFileSystems;
  return out;
}

export function redactSecretVariables(
  secrets: ReadonlyArray<{ name: string; value?: string | undefined; valueSecretReference?: KeyVaultRef | undefined }>,
): Array<{ name: string; valueSecretReference?: KeyVaultRef }> {
  return secrets.map(({ name, valueSecretReference }) =>
    valueSecretReference === undefined ? { name } : { name, valueSecretReference },
  );
}

export function redactUserAccountSettings(settings: {
  adminUserName: string;
  adminUserSshPublicKey?: string | undefined;
}): { adminUserName: string; adminUserSshPublicKey?: string } {
  // The public key is not a secret, and the service returned it (see `az batchai cluster show` output).
  return settings.adminUserSshPublicKey === undefined
    ? { adminUserName: settings.adminUserName }
    : { adminUserName: settings.adminUserName, adminUserSshPublicKey: settings.adminUserSshPublicKey };
}

export function redactNodeSetup(nodeSetup: NonNullable<ClusterProperties['nodeSetup']>) {
  const out: Record<string, unknown> = {};
  if (nodeSetup.setupTask !== undefined) {
    const { secrets, ...task } = nodeSetup.setupTask;
    out['setupTask'] = secrets === undefined ? task : { ...task, secrets: redactSecretVariables(secrets) };
  }
  if (nodeSetup.mountVolumes !== undefined) out['mountVolumes'] = redactMountVolumes(nodeSetup.mountVolumes);
  const appInsights = nodeSetup.performanceCountersSettings?.appInsightsReference;
  if (appInsights !== undefined) {
    out['performanceCountersSettings'] = {
      appInsightsReference:
        appInsights.instrumentationKeySecretReference === undefined
          ? { component: appInsights.component }
          : {
              component: appInsights.component,
              instrumentationKeySecretReference: appInsights.instrumentationKeySecretReference,
            },
    };
  }
  return out;
}

/**
 * Every secret value inside a request body or stored properties, for scrubbing logs and for checking that a
 * response leaks none of them.
 */
export function collectSecretValues(value: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown, parentKey: string | undefined, depth: number) => {
    if (depth > 32 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) {
        // secrets[].value (job, setup task) is the only secret stored under a generic name.
        if (parentKey === 'secrets' && item !== null && typeof item === 'object' && !Array.isArray(item)) {
          const v = (item as Record<string, unknown>)['value'];
          if (typeof v === 'string' && v.length > 0) found.push(v);
        }
        visit(item, undefined, depth + 1);
      }
      return;
    }
    for (const [key, child] of Object.entries(node)) {
      if ((WRITE_ONLY_PROPERTY_NAMES as readonly string[]).includes(key) && typeof child === 'string' && child !== '') {
        found.push(child);
      }
      visit(child, key, depth + 1);
    }
  };
  visit(value, undefined, 0);
  return found;
}
