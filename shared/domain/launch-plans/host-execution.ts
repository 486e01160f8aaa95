import type { BatchAiError } from '../resource-states.js';
import type { LaunchPlan } from './types.js';

// On Azure, a job with containerSettings runs in Docker on the node. A local node (an agent process on this machine)
// has no container engine, so such a job fails at preparation with ContainerEngineUnavailable, unless its cluster
// opted into host execution: then the job's processes run directly on the host, with the same commands and
// environment, and the image is ignored (the plan says so in `containerIgnored`).
//
// The opt-in is the cluster's image: a node's image decides what software it has, and a cluster created with
// HOST_EXECUTION_IMAGE says "these nodes are this host". It is a valid 2018-05-01 body (no new property, the ARM
// PUT stays strict and clients generated from the spec can send it), and it cannot leak to Azure by accident: no
// such image exists there, so the scale set would not be created. See docs/decisions/0062-host-execution-image.md.

export const HOST_EXECUTION_IMAGE = {
  publisher: 'batchai-local',
  offer: 'host-execution',
  sku: 'no-container-engine',
} as const;

/** Whether a cluster (its validated or stored properties) opted into running container jobs on the host. */
export function clusterAllowsHostExecution(cluster: {
  virtualMachineConfiguration?: { imageReference?: { publisher: string; offer: string; sku: string } | undefined };
}): boolean {
  const image = cluster.virtualMachineConfiguration?.imageReference;
  return (
    image !== undefined &&
    image.publisher.toLowerCase() === HOST_EXECUTION_IMAGE.publisher &&
    image.offer.toLowerCase() === HOST_EXECUTION_IMAGE.offer &&
    image.sku.toLowerCase() === HOST_EXECUTION_IMAGE.sku
  );
}

/**
 * The preparation check of one node: undefined if the plan can run there, else the error that fails the job (in
 * Batch AI's error shape, for executionInfo.errors).
 */
export function checkNodeCanRun(
  plan: Pick<LaunchPlan, 'execution'>,
  node: { nodeId: string; containerEngine: boolean },
): BatchAiError | undefined {
  if (plan.execution.mode !== 'container' || node.containerEngine) return undefined;
  return {
    code: 'ContainerEngineUnavailable',
    message:
      `The job runs in the container image '${plan.execution.container.image}' but node ${node.nodeId} has no ` +
      'container engine. On the local stack, create the cluster with virtualMachineConfiguration.imageReference ' +
      `${JSON.stringify(HOST_EXECUTION_IMAGE)} to run container jobs directly on the host.`,
    details: [
      { name: 'nodeId', value: node.nodeId },
      { name: 'image', value: plan.execution.container.image },
    ],
  };
}
