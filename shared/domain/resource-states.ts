// Read-only state values of the 2018-05-01 resources, as string unions (enums of BatchAI.json).

export const PROVISIONING_STATES = ['creating', 'deleting', 'succeeded', 'failed'] as const;
/** Workspaces, experiments and jobs. */
export type ProvisioningState = (typeof PROVISIONING_STATES)[number];

export const CLUSTER_PROVISIONING_STATES = ['creating', 'succeeded', 'failed', 'deleting'] as const;
export type ClusterProvisioningState = (typeof CLUSTER_PROVISIONING_STATES)[number];

export const FILE_SERVER_PROVISIONING_STATES = ['creating', 'updating', 'deleting', 'succeeded', 'failed'] as const;
export type FileServerProvisioningState = (typeof FILE_SERVER_PROVISIONING_STATES)[number];

export const EXECUTION_STATES = ['queued', 'running', 'terminating', 'succeeded', 'failed'] as const;
export type ExecutionState = (typeof EXECUTION_STATES)[number];

export const ALLOCATION_STATES = ['steady', 'resizing'] as const;
export type AllocationState = (typeof ALLOCATION_STATES)[number];

/** BatchAIError: the error shape inside executionInfo.errors and cluster errors (not the ARM CloudError). */
export interface BatchAiError {
  code: string;
  message: string;
  details?: Array<{ name: string; value: string }>;
}

export interface NodeStateCounts {
  idleNodeCount: number;
  runningNodeCount: number;
  preparingNodeCount: number;
  unusableNodeCount: number;
  leavingNodeCount: number;
}

export const EMPTY_NODE_STATE_COUNTS: Readonly<NodeStateCounts> = {
  idleNodeCount: 0,
  runningNodeCount: 0,
  preparingNodeCount: 0,
  unusableNodeCount: 0,
  leavingNodeCount: 0,
};

export interface JobExecutionInfo {
  startTime?: string;
  endTime?: string;
  exitCode?: number;
  errors?: BatchAiError[];
}

/** Timestamps are ISO 8601 strings; the caller supplies "now" so everything here stays deterministic. */
export interface ProvisioningInfo<S extends string> {
  creationTime: string;
  provisioningState: S;
  provisioningStateTransitionTime: string;
}

/** The provisioning fields of a resource entering `state` at `now` (its creation time for a new one). */
export function provisioning<S extends string>(state: S, now: string): ProvisioningInfo<S> {
  return { creationTime: now, provisioningState: state, provisioningStateTransitionTime: now };
}
