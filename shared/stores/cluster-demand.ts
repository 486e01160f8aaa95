import type { ClusterResourceId } from '../domain/resource-id.js';

/** What autoscale sizes a cluster by: nodes wanted by the queued and running jobs that target it. */
export interface ClusterDemand {
  nodesWanted(cluster: ClusterResourceId): Promise<number>;
}
