import type { FileServerProperties } from './file-server-schema.js';
import { type FileServerResourceId, formatBatchAiResourceId, RESOURCE_TYPES } from './resource-id.js';
import type { FileServerProvisioningState, ProvisioningInfo } from './resource-states.js';
import { provisioning } from './resource-states.js';
import type { ResourceView } from './resource-view.js';
import { redactUserAccountSettings } from './secrets.js';

// The GET representation of a file server. Never includes adminUserPassword.

export interface FileServerMountSettings {
  mountPoint: string;
  fileServerPublicIP?: string;
  fileServerInternalIP?: string;
}

export interface FileServerRecord extends ProvisioningInfo<FileServerProvisioningState> {
  id: FileServerResourceId;
  /** Unique per creation of this file server name; names its scale set (and so its export). */
  uid?: string;
  properties: FileServerProperties;
  /** Known once the VM is up. */
  mountSettings?: FileServerMountSettings;
  errors?: Array<{ code: string; message: string }>;
}

/** The NFS export of a file server: unique per file server (locally every export lives in one shared directory). */
export const fileServerExportPath = (scaleSetName: string): string => `/exports/${scaleSetName}`;

export function newFileServerRecord(input: {
  id: FileServerResourceId;
  uid?: string;
  properties: FileServerProperties;
  now: string;
}): FileServerRecord {
  return {
    id: input.id,
    ...(input.uid ? { uid: input.uid } : {}),
    properties: input.properties,
    ...provisioning('creating', input.now),
  };
}

export function fileServerView(record: FileServerRecord): ResourceView<Record<string, unknown>> {
  const p = record.properties;
  const properties: Record<string, unknown> = {
    vmSize: p.vmSize,
    sshConfiguration: {
      ...(p.sshConfiguration.publicIPsToAllow === undefined
        ? {}
        : { publicIPsToAllow: p.sshConfiguration.publicIPsToAllow }),
      userAccountSettings: redactUserAccountSettings(p.sshConfiguration.userAccountSettings),
    },
    dataDisks: p.dataDisks,
  };
  if (p.subnet !== undefined) properties['subnet'] = { id: p.subnet.id };
  if (record.mountSettings !== undefined) properties['mountSettings'] = record.mountSettings;
  properties['creationTime'] = record.creationTime;
  properties['provisioningState'] = record.provisioningState;
  properties['provisioningStateTransitionTime'] = record.provisioningStateTransitionTime;
  return {
    id: formatBatchAiResourceId(record.id),
    name: record.id.fileServer,
    type: RESOURCE_TYPES.fileServer,
    properties,
  };
}
