import type { BatchAiError } from './resource-states.js';

// The errors a cluster (or file server) shows in `errors`, with the codes Batch AI (on Azure Batch) used for
// resize and node failures. One catalogue, so every path reports the same code for the same cause.

export type ClusterErrorKind = 'quota' | 'allocation' | 'badImage' | 'badDefinition' | 'setupFailed' | 'nodeLost';

/** ARM/Compute error codes that mean "not enough core quota". */
const QUOTA_CODES = new Set(['operationnotallowed', 'quotaexceeded', 'allocationfailed']);
const IMAGE_CODES = new Set([
  'imagenotfound',
  'platformimagenotfound',
  'artifactnotfound',
  'osprovisioningclienterror',
]);
const DEFINITION_CODES = new Set(['invalidparameter', 'badrequest', 'invalidrequestcontent', 'skunotavailable']);

/** Classifies a compute (ARM) error for the cluster: quota and allocation failures are resize errors. */
export function classifyComputeError(code: string, message: string): ClusterErrorKind {
  const c = code.toLowerCase();
  if (c === 'operationnotallowed' && !/quota/i.test(message)) return 'allocation';
  if (QUOTA_CODES.has(c) && (c !== 'allocationfailed' || /quota/i.test(message))) return 'quota';
  if (c === 'allocationfailed' || c === 'zonalallocationfailed' || c === 'overconstrainedallocationrequest') {
    return 'allocation';
  }
  if (IMAGE_CODES.has(c) || (c === 'invalidparameter' && /image/i.test(message))) return 'badImage';
  if (DEFINITION_CODES.has(c)) return 'badDefinition';
  return 'allocation';
}

export function computeClusterError(
  kind: Exclude<ClusterErrorKind, 'setupFailed' | 'nodeLost'>,
  input: { code: string; message: string; lowPriority: boolean; target: number },
): BatchAiError {
  const details = [
    { name: 'ComputeErrorCode', value: input.code },
    { name: 'ComputeErrorMessage', value: input.message },
    { name: 'TargetNodeCount', value: String(input.target) },
  ];
  switch (kind) {
    case 'quota':
      return {
        code: input.lowPriority ? 'AccountLowPriorityCoreQuotaReached' : 'AccountCoreQuotaReached',
        message: `The cluster could not grow to ${input.target} node(s): the ${input.lowPriority ? 'low-priority ' : ''}core quota was reached. Lower the node count or raise the quota.`,
        details,
      };
    case 'badImage':
      return {
        code: 'InvalidVirtualMachineImage',
        message: 'The virtual machine image of the cluster cannot be used to create VMs.',
        details,
      };
    case 'badDefinition':
      return {
        code: 'InvalidClusterConfiguration',
        message: `VMs cannot be created for this definition: ${input.message}`,
        details,
      };
    case 'allocation':
      return {
        code: 'AllocationFailed',
        message: `VMs could not be allocated for the cluster (${input.code}).`,
        details,
      };
  }
}

/** A node's setup (mounts or setup task) failed: the agent's error, with the node named. */
export function nodeSetupError(nodeId: string, error: BatchAiError): BatchAiError {
  return {
    code: error.code,
    message: `Node ${nodeId}: ${error.message}`,
    details: [{ name: 'NodeId', value: nodeId }, ...(error.details ?? [])],
  };
}
