import {
  type ExperimentResourceId,
  formatBatchAiResourceId,
  RESOURCE_TYPES,
  type WorkspaceResourceId,
} from './resource-id.js';
import type { ProvisioningInfo, ProvisioningState } from './resource-states.js';
import type { ResourceView } from './resource-view.js';
import type { Tags } from './workspace-schema.js';

// GET representations of workspaces (tracked: location and tags at the top level) and experiments.

export interface WorkspaceRecord extends ProvisioningInfo<ProvisioningState> {
  id: WorkspaceResourceId;
  location: string;
  tags?: Tags;
}

export interface ExperimentRecord extends ProvisioningInfo<ProvisioningState> {
  id: ExperimentResourceId;
}

export type ProvisioningView = ProvisioningInfo<ProvisioningState>;

export function workspaceView(
  record: WorkspaceRecord,
): ResourceView<ProvisioningView> & { location: string; tags?: Tags } {
  const view: ResourceView<ProvisioningView> & { location: string; tags?: Tags } = {
    id: formatBatchAiResourceId(record.id),
    name: record.id.workspace,
    type: RESOURCE_TYPES.workspace,
    location: record.location,
    properties: provisioningOf(record),
  };
  if (record.tags !== undefined) view.tags = record.tags;
  return view;
}

export function experimentView(record: ExperimentRecord): ResourceView<ProvisioningView> {
  return {
    id: formatBatchAiResourceId(record.id),
    name: record.id.experiment,
    type: RESOURCE_TYPES.experiment,
    properties: provisioningOf(record),
  };
}

function provisioningOf(record: ProvisioningView): ProvisioningView {
  return {
    creationTime: record.creationTime,
    provisioningState: record.provisioningState,
    provisioningStateTransitionTime: record.provisioningStateTransitionTime,
  };
}
