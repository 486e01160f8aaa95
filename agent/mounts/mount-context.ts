import type { MountSpec, SealedForNode } from '../../shared/domain/agent-protocol.js';
import type { NodePaths } from '../node-paths.js';
import type { BlobContainer } from '../storage/blob.js';
import type { StorageAuth } from '../storage/credentials.js';
import type { BlobSync } from './blob-sync.js';

/** What every mount driver gets: where things are, how to reach storage, how to open sealed keys. */
export interface MountContext {
  paths: NodePaths;
  /** The node's own storage identity (managed identity on Azure, the emulator's account locally). */
  nodeAuth: StorageAuth;
  open(sealed: SealedForNode): string;
  /** Blob mounts by real mount path: the log shipper writes live logs straight to their containers. */
  blobMounts: Map<string, BlobMount>;
  /** What is mounted where (real mount path → the spec without its sealed key), so a mount is done once. */
  mounted: Map<string, string>;
  /** The environment of mount commands (AZ_BATCHAI_MOUNT_ROOT and the node's variables). */
  env: NodeJS.ProcessEnv;
  /** Azure: the client id of the scale set's user-assigned identity (blobfuse2's msi mode). */
  identityClientId?: string;
}

export interface BlobMount {
  container: BlobContainer;
  /** The local stand-in for blobfuse (absent on Azure). */
  sync?: BlobSync;
}

/** A mount that failed: the message says what and why; details name the mount. */
export class MountError extends Error {
  constructor(
    message: string,
    readonly details: Array<{ name: string; value: string }>,
  ) {
    super(message);
  }
}

export function describeMount(spec: MountSpec, mountPath: string): Array<{ name: string; value: string }> {
  const driver = { azureBlob: 'blobfuse2', azureFiles: 'cifs', fileServer: 'nfs', unmanaged: 'mountCommand' }[
    spec.kind
  ];
  const source =
    spec.kind === 'azureBlob'
      ? `${spec.accountName}/${spec.containerName}`
      : spec.kind === 'azureFiles'
        ? spec.azureFileUrl
        : spec.kind === 'fileServer'
          ? `${spec.serverAddress}:${spec.exportPath}${spec.sourceDirectory ? `/${spec.sourceDirectory}` : ''}`
          : 'mountCommand';
  return [
    { name: 'mountPath', value: mountPath },
    { name: 'kind', value: spec.kind },
    { name: 'driver', value: driver },
    { name: 'source', value: source },
  ];
}
