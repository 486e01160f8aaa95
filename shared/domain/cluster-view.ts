import type { ClusterProperties } from './cluster-schema.js';
import { type ClusterResourceId, formatBatchAiResourceId, RESOURCE_TYPES } from './resource-id.js';
import {
  type AllocationState,
  type BatchAiError,
  type ClusterProvisioningState,
  EMPTY_NODE_STATE_COUNTS,
  type NodeStateCounts,
  type ProvisioningInfo,
  provisioning,
} from './resource-states.js';
import type { ResourceView } from './resource-view.js';
import { redactNodeSetup, redactUserAccountSettings } from './secrets.js';

// The GET representation of a cluster. Never includes adminUserPassword, account keys or instrumentation keys.

export interface ClusterRecord extends ProvisioningInfo<ClusterProvisioningState> {
  id: ClusterResourceId;
  /** Unique per creation of this cluster name; names the setup task's output directory. */
  uid: string;
  properties: ClusterProperties;
  allocationState: AllocationState;
  allocationStateTransitionTime: string;
  currentNodeCount: number;
  nodeStateCounts: NodeStateCounts;
  errors?: BatchAiError[];
  /** A scale-out to this node count failed (quota): not retried until the target changes. */
  resizeFailedTarget?: number;
  /** The delete request's operation, completed by the lifecycle once the VMs are gone. */
  deleteOperationId?: string;
}

export function newClusterRecord(input: {
  id: ClusterResourceId;
  uid: string;
  properties: ClusterProperties;
  now: string;
}): ClusterRecord {
  return {
    id: input.id,
    uid: input.uid,
    properties: input.properties,
    ...provisioning('creating', input.now),
    allocationState: 'steady',
    allocationStateTransitionTime: input.now,
    currentNodeCount: 0,
    nodeStateCounts: { ...EMPTY_NODE_STATE_COUNTS },
  };
}

/** Where setup task logs go below its stdOutErrPathPrefix (read-only `stdOutErrPathSuffix`). */
export function setupTaskStdOutErrPathSuffix(id: ClusterResourceId, uid: string): string {
  return [id.subscriptionId, id.resourceGroup, 'workspaces', id.workspace, 'clusters', id.cluster, uid].join('/');
}

export function clusterView(record: ClusterRecord): ResourceView<Record<string, unknown>> {
  const p = record.properties;
  const properties: Record<string, unknown> = {};
  const put = (name: string, value: unknown) => {
    if (value !== undefined) properties[name] = value;
  };
  put('vmSize', p.vmSize);
  put('vmPriority', p.vmPriority);
  put('scaleSettings', p.scaleSettings);
  put('virtualMachineConfiguration', p.virtualMachineConfiguration);
  if (p.nodeSetup !== undefined) {
    const nodeSetup = redactNodeSetup(p.nodeSetup);
    if (nodeSetup['setupTask'] !== undefined) {
      nodeSetup['setupTask'] = {
        ...(nodeSetup['setupTask'] as object),
        stdOutErrPathSuffix: setupTaskStdOutErrPathSuffix(record.id, record.uid),
      };
    }
    put('nodeSetup', nodeSetup);
  }
  put('userAccountSettings', redactUserAccountSettings(p.userAccountSettings));
  put('subnet', p.subnet && { id: p.subnet.id });
  put('creationTime', record.creationTime);
  put('provisioningState', record.provisioningState);
  put('provisioningStateTransitionTime', record.provisioningStateTransitionTime);
  put('allocationState', record.allocationState);
  put('allocationStateTransitionTime', record.allocationStateTransitionTime);
  put('errors', record.errors);
  put('currentNodeCount', record.currentNodeCount);
  put('nodeStateCounts', record.nodeStateCounts);
  return {
    id: formatBatchAiResourceId(record.id),
    name: record.id.cluster,
    type: RESOURCE_TYPES.cluster,
    properties,
  };
}
