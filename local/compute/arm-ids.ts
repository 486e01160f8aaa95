// ARM resource ids and URLs of scale sets, their VMs and operations. Pure.

export interface ScaleSetRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export const PROVIDER = 'Microsoft.Compute';
export const SCALE_SET_TYPE = 'Microsoft.Compute/virtualMachineScaleSets';
export const SCALE_SET_VM_TYPE = 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines';

/** ARM names are case-insensitive: records are keyed by the lowercased id. */
export const scaleSetKey = (r: ScaleSetRef): string => `${r.subscriptionId}/${r.resourceGroup}/${r.name}`.toLowerCase();

export const resourceGroupId = (subscriptionId: string, resourceGroup: string): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;

export const scaleSetId = (r: ScaleSetRef): string =>
  `${resourceGroupId(r.subscriptionId, r.resourceGroup)}/providers/${SCALE_SET_TYPE}/${r.name}`;

export const instanceResourceId = (r: ScaleSetRef, instanceId: number | string): string =>
  `${scaleSetId(r)}/virtualMachines/${instanceId}`;

/** A scale-set VM's name, as Azure names it. */
export const instanceName = (scaleSetName: string, instanceId: number | string): string =>
  `${scaleSetName}_${instanceId}`;

export const operationPath = (subscriptionId: string, location: string, operationId: string): string =>
  `/subscriptions/${subscriptionId}/providers/${PROVIDER}/locations/${location}/operations/${operationId}`;
