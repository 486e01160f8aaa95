import type { MountSpec } from '../agent-protocol.js';
import type { MountVolumes } from '../mount-volumes-schema.js';
import type { BatchAiError } from '../resource-states.js';

// The job's mountVolumes as the agent mounts them below $AZ_BATCHAI_JOB_MOUNT_ROOT at preparation (the cluster's
// go below $AZ_BATCHAI_MOUNT_ROOT at node setup, with the same specs). Account keys are not in the plan: each entry
// says where its key is (`keyFrom`), and the caller reads it from the stored job, resolves a Key Vault reference if
// that is what it is, and seals it for the node before sending.

export interface PlannedMount {
  spec: MountSpec;
  /** Where the account key comes from; absent for mounts that need none (file servers, unmanaged). */
  keyFrom?: { list: 'azureFileShares' | 'azureBlobFileSystems'; index: number };
}

export interface MountContext {
  /** The blob service endpoint of an account (https://{account}.blob.core.windows.net/ on Azure, Azurite locally). */
  blobEndpoint(accountName: string): string;
  /** The NFS address and export of a file server resource; undefined if it does not exist (or has no node yet). */
  fileServer(id: string): { serverAddress: string; exportPath: string } | undefined;
}

export function planMounts(
  volumes: MountVolumes | undefined,
  context: MountContext,
): { ok: true; mounts: PlannedMount[] } | { ok: false; error: BatchAiError } {
  const mounts: PlannedMount[] = [];
  (volumes?.azureFileShares ?? []).forEach((share, index) => {
    mounts.push({
      spec: {
        kind: 'azureFiles',
        relativeMountPath: share.relativeMountPath,
        accountName: share.accountName,
        azureFileUrl: share.azureFileUrl,
        fileMode: share.fileMode,
        directoryMode: share.directoryMode,
      },
      keyFrom: { list: 'azureFileShares', index },
    });
  });
  (volumes?.azureBlobFileSystems ?? []).forEach((blob, index) => {
    mounts.push({
      spec: {
        kind: 'azureBlob',
        relativeMountPath: blob.relativeMountPath,
        accountName: blob.accountName,
        containerName: blob.containerName,
        blobEndpoint: context.blobEndpoint(blob.accountName),
        ...(blob.mountOptions ? { mountOptions: blob.mountOptions } : {}),
      },
      keyFrom: { list: 'azureBlobFileSystems', index },
    });
  });
  for (const fs of volumes?.fileServers ?? []) {
    const server = context.fileServer(fs.fileServer.id);
    if (server === undefined) {
      return {
        ok: false,
        error: {
          code: 'FileServerUnavailable',
          message: `The file server ${fs.fileServer.id} mounted at '${fs.relativeMountPath}' does not exist or is not ready.`,
        },
      };
    }
    mounts.push({
      spec: {
        kind: 'fileServer',
        relativeMountPath: fs.relativeMountPath,
        serverAddress: server.serverAddress,
        exportPath: server.exportPath,
        ...(fs.sourceDirectory ? { sourceDirectory: fs.sourceDirectory } : {}),
        ...(fs.mountOptions ? { mountOptions: fs.mountOptions } : {}),
      },
    });
  }
  for (const fs of volumes?.unmanagedFileSystems ?? []) {
    mounts.push({
      spec: { kind: 'unmanaged', relativeMountPath: fs.relativeMountPath, mountCommand: fs.mountCommand },
    });
  }
  return { ok: true, mounts };
}
