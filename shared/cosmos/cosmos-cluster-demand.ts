import type { Container } from '@azure/cosmos';
import type { ClusterResourceId } from '../domain/resource-id.js';
import { formatBatchAiResourceId } from '../domain/resource-id.js';
import type { ClusterDemand } from '../stores/cluster-demand.js';
import { partitionKeyOf } from './cosmos-resource-store.js';

// Jobs live in the workspace's partition of `resources`, next to their cluster: one single-partition query.
export class CosmosClusterDemand implements ClusterDemand {
  constructor(private readonly resources: Container) {}

  async nodesWanted(cluster: ClusterResourceId): Promise<number> {
    const pk = partitionKeyOf(cluster);
    const { resources } = await this.resources.items
      .query<{ clusterId?: string; nodeCount?: number; state?: string }>(
        {
          query:
            "SELECT c.resource.record.properties.cluster.id AS clusterId, c.resource.record.properties.nodeCount AS nodeCount, c.resource.record.executionState AS state FROM c WHERE c.pk = @pk AND c.kind = 'job'",
          parameters: [{ name: '@pk', value: pk }],
        },
        { partitionKey: pk },
      )
      .fetchAll();
    const wanted = formatBatchAiResourceId(cluster).toLowerCase();
    let nodes = 0;
    for (const job of resources) {
      if (job.state !== 'queued' && job.state !== 'running') continue;
      if (job.clusterId?.toLowerCase() !== wanted) continue;
      nodes += job.nodeCount ?? 1;
    }
    return nodes;
  }
}
