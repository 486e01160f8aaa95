import type { AgentCommand, MountSpec, SealedForNode } from '../domain/agent-protocol.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import { setupTaskStdOutErrPathSuffix } from '../domain/cluster-view.js';
import type { FileServerRecord } from '../domain/file-server-view.js';
import type { MountVolumes } from '../domain/mount-volumes-schema.js';
import { parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import { sealForNode } from '../secrets/seal-for-node.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { ResourceStore } from '../stores/resource-store.js';

// A cluster's nodeSetup as one node performs it: every mount resolved (endpoints, file server addresses), every
// secret opened from the sealed record and sealed again for this one boot of this one node. Nothing here is
// logged; the result holds ciphertext only.

export interface MountEndpoints {
  /** The blob service endpoint of a storage account (locally every account is Azurite's). */
  blobEndpointFor(accountName: string): string;
}

/** A mount that cannot be resolved: the node's setup fails with this reason, as a failing mount would. */
export class SetupResolutionError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SetupResolutionError';
  }
}

type SetupCommand = Extract<AgentCommand, { kind: 'setup' }>;

export async function resolveNodeSetup(
  deps: { store: Pick<ResourceStore, 'get'>; secrets: SecretBox; endpoints: MountEndpoints },
  cluster: ClusterRecord,
  node: { bootId: string; publicKey: string; setupId: string },
): Promise<SetupCommand> {
  const seal = (sealed: string | undefined): SealedForNode | undefined =>
    sealed ? sealForNode(node.publicKey, deps.secrets.open(sealed)) : undefined;
  const mounts = await resolveMounts(deps, cluster.properties.nodeSetup?.mountVolumes, seal);
  const task = cluster.properties.nodeSetup?.setupTask;
  return {
    v: 1,
    kind: 'setup',
    bootId: node.bootId,
    commandId: node.setupId,
    setupId: node.setupId,
    mounts,
    ...(task
      ? {
          setupTask: {
            commandLine: task.commandLine,
            runElevated: false,
            environmentVariables: (task.environmentVariables ?? []).map((e) => ({ name: e.name, value: e.value })),
            secrets: (task.secrets ?? []).flatMap((s) => (s.value ? [{ name: s.name, value: seal(s.value)! }] : [])),
            stdOutErrDirectory: `${task.stdOutErrPathPrefix.replace(/\/+$/, '')}/${setupTaskStdOutErrPathSuffix(cluster.id, cluster.uid)}`,
          },
        }
      : {}),
  };
}

export async function resolveMounts(
  deps: { store: Pick<ResourceStore, 'get'>; endpoints: MountEndpoints },
  volumes: MountVolumes | undefined,
  seal: (sealed: string | undefined) => SealedForNode | undefined,
): Promise<MountSpec[]> {
  if (!volumes) return [];
  const mounts: MountSpec[] = [];
  for (const share of volumes.azureFileShares ?? []) {
    const accountKey = seal(share.credentials.accountKey);
    mounts.push({
      kind: 'azureFiles',
      relativeMountPath: share.relativeMountPath,
      accountName: share.accountName,
      azureFileUrl: share.azureFileUrl,
      ...(accountKey ? { accountKey } : {}),
      fileMode: share.fileMode,
      directoryMode: share.directoryMode,
    });
  }
  for (const blob of volumes.azureBlobFileSystems ?? []) {
    const accountKey = seal(blob.credentials.accountKey);
    mounts.push({
      kind: 'azureBlob',
      relativeMountPath: blob.relativeMountPath,
      accountName: blob.accountName,
      containerName: blob.containerName,
      blobEndpoint: deps.endpoints.blobEndpointFor(blob.accountName),
      ...(accountKey ? { accountKey } : {}),
      ...(blob.mountOptions ? { mountOptions: blob.mountOptions } : {}),
    });
  }
  for (const ref of volumes.fileServers ?? []) {
    const parsed = parseBatchAiResourceIdOf('fileServer', ref.fileServer.id);
    if (!parsed.ok) throw new SetupResolutionError('MountFailed', `'${ref.fileServer.id}' is not a file server id`);
    const stored = await deps.store.get(parsed.value);
    const server = stored?.record as unknown as FileServerRecord | undefined;
    const settings = server?.mountSettings;
    if (server?.provisioningState !== 'succeeded' || !settings) {
      throw new SetupResolutionError(
        'MountFailed',
        `cannot mount file server '${ref.fileServer.id}' at '${ref.relativeMountPath}': ${
          server ? `it is ${server.provisioningState}, not ready` : 'it does not exist'
        }`,
      );
    }
    mounts.push({
      kind: 'fileServer',
      relativeMountPath: ref.relativeMountPath,
      serverAddress: settings.fileServerInternalIP ?? settings.fileServerPublicIP ?? '127.0.0.1',
      exportPath: settings.mountPoint,
      ...(ref.sourceDirectory ? { sourceDirectory: ref.sourceDirectory } : {}),
      ...(ref.mountOptions ? { mountOptions: ref.mountOptions } : {}),
    });
  }
  for (const fs of volumes.unmanagedFileSystems ?? []) {
    mounts.push({ kind: 'unmanaged', relativeMountPath: fs.relativeMountPath, mountCommand: fs.mountCommand });
  }
  return mounts;
}
