import type { CachingTypes, VirtualMachineScaleSet, VirtualMachineScaleSetDataDisk } from '@azure/arm-compute';
import { type AgentBootConfig, renderAgentBootstrap } from '../domain/agent-bootstrap.js';
import { DEFAULT_IMAGE_REFERENCE } from '../domain/cluster-schema.js';

// Pure builders: a cluster or file server (plus deployment settings) → the VirtualMachineScaleSet to PUT.
// customData carries only the agent's boot configuration (no secret). The admin password / SSH key go where
// Azure needs them (osProfile), opened from the sealed record by the caller just for this call, never logged.

export interface ScaleSetSettings {
  location: string;
  /** User-assigned managed identity (ARM id) the VMs use to reach queues and storage on Azure. */
  identityResourceId?: string;
  /** Its client id, for the agent's DefaultAzureCredential. */
  identityClientId?: string;
  /** Where cloud-init downloads the agent package from (a blob URL on Azure). */
  agentPackageUrl: string;
  queueEndpoint: string;
  blobEndpoint: string;
  heartbeatIntervalMs: number;
  mountRoot: string;
}

export interface AdminAccount {
  adminUserName: string;
  /** Opened from the sealed record by the caller; never logged. */
  adminUserPassword?: string;
  adminUserSshPublicKey?: string;
}

export interface ScaleSetSpec {
  role: AgentBootConfig['role'];
  resourceId: string;
  scaleSetName: string;
  vmSize: string;
  capacity: number;
  lowPriority: boolean;
  imageReference?: {
    publisher: string;
    offer: string;
    sku: string;
    version?: string;
    virtualMachineImageId?: string;
  };
  subnetId?: string;
  admin: AdminAccount;
  fileServer?: {
    exportPath: string;
    dataDisks: { diskSizeInGB: number; diskCount: number; storageAccountType: string; cachingType: string };
  };
  tags?: Record<string, string>;
}

const CACHING: Record<string, CachingTypes> = { none: 'None', readonly: 'ReadOnly', readwrite: 'ReadWrite' };

export function buildScaleSet(spec: ScaleSetSpec, settings: ScaleSetSettings): VirtualMachineScaleSet {
  const bootConfig: AgentBootConfig = {
    v: 1,
    role: spec.role,
    resourceId: spec.resourceId,
    scaleSetName: spec.scaleSetName,
    queueEndpoint: settings.queueEndpoint,
    blobEndpoint: settings.blobEndpoint,
    ...(settings.identityClientId ? { identityClientId: settings.identityClientId } : {}),
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    mountRoot: settings.mountRoot,
    ...(spec.fileServer
      ? { fileServer: { diskCount: spec.fileServer.dataDisks.diskCount, exportPath: spec.fileServer.exportPath } }
      : {}),
  };
  const image: NonNullable<ScaleSetSpec['imageReference']> = spec.imageReference ?? { ...DEFAULT_IMAGE_REFERENCE };
  const imageReference = image.virtualMachineImageId
    ? { id: image.virtualMachineImageId }
    : { publisher: image.publisher, offer: image.offer, sku: image.sku, version: image.version ?? 'latest' };
  const ssh = spec.admin.adminUserSshPublicKey;
  const dataDisks: VirtualMachineScaleSetDataDisk[] | undefined = spec.fileServer
    ? Array.from({ length: spec.fileServer.dataDisks.diskCount }, (_, lun) => ({
        lun,
        createOption: 'Empty',
        diskSizeGB: spec.fileServer!.dataDisks.diskSizeInGB,
        caching: CACHING[spec.fileServer!.dataDisks.cachingType.toLowerCase()] ?? 'None',
        managedDisk: { storageAccountType: spec.fileServer!.dataDisks.storageAccountType },
      }))
    : undefined;

  return {
    location: settings.location,
    tags: { 'batchai-resource-id': spec.resourceId, 'batchai-role': spec.role, ...(spec.tags ?? {}) },
    sku: { name: spec.vmSize, tier: 'Standard', capacity: spec.capacity },
    ...(settings.identityResourceId
      ? { identity: { type: 'UserAssigned', userAssignedIdentities: { [settings.identityResourceId]: {} } } }
      : {}),
    // Nodes are replaced one by one by the lifecycle, never by a model upgrade under a running job.
    upgradePolicy: { mode: 'Manual' },
    // Overprovisioning would boot (and register) extra agents that ARM deletes again moments later.
    overprovision: false,
    singlePlacementGroup: spec.capacity <= 100,
    virtualMachineProfile: {
      ...(spec.lowPriority
        ? { priority: 'Spot', evictionPolicy: 'Delete', billingProfile: { maxPrice: -1 } }
        : { priority: 'Regular' }),
      osProfile: {
        computerNamePrefix: spec.scaleSetName.slice(0, 9),
        adminUsername: spec.admin.adminUserName,
        ...(spec.admin.adminUserPassword ? { adminPassword: spec.admin.adminUserPassword } : {}),
        customData: renderAgentBootstrap(bootConfig, settings.agentPackageUrl),
        linuxConfiguration: {
          disablePasswordAuthentication: !spec.admin.adminUserPassword,
          ...(ssh
            ? {
                ssh: {
                  publicKeys: [{ path: `/home/${spec.admin.adminUserName}/.ssh/authorized_keys`, keyData: ssh }],
                },
              }
            : {}),
        },
      },
      storageProfile: {
        imageReference,
        osDisk: {
          createOption: 'FromImage',
          caching: 'ReadWrite',
          managedDisk: { storageAccountType: 'Standard_LRS' },
        },
        ...(dataDisks ? { dataDisks } : {}),
      },
      networkProfile: {
        networkInterfaceConfigurations: [
          {
            name: 'nic',
            primary: true,
            ipConfigurations: [
              {
                name: 'ipconfig',
                primary: true,
                ...(spec.subnetId ? { subnet: { id: spec.subnetId } } : {}),
              },
            ],
          },
        ],
      },
    },
  };
}
