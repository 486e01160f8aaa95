import type { ClusterRecord } from '../domain/cluster-view.js';
import { vCpusOf } from '../domain/vm-sizes.js';
import { allItems } from '../stores/resource-store.js';
import type { ApiDeps } from './api-deps.js';
import { clusterNodes } from './cluster-nodes.js';

export interface Usage {
  unit: 'Count';
  currentValue: number;
  limit: number;
  name: { value: string; localizedValue: string };
}

/** Subscription quotas per location; the service's defaults (the spec's example shows the same limits). */
export const DEFAULT_QUOTAS = { clusters: 20, dedicatedVCpus: 600, lowPriorityVCpus: 600 } as const;

function usage(name: string, currentValue: number, limit: number): Usage {
  return { unit: 'Count', currentValue, limit, name: { value: name, localizedValue: name } };
}

/** Usages_List: clusters and the vCPUs their nodes hold, in one subscription and location. */
export async function listUsages(
  deps: Pick<ApiDeps, 'store' | 'nodes'>,
  scope: { subscriptionId: string; location: string },
): Promise<{ value: Usage[] }> {
  let clusters = 0;
  let dedicated = 0;
  let lowPriority = 0;
  const location = scope.location.toLowerCase();
  for await (const ws of allItems((o) => deps.store.listWorkspaces({ subscriptionId: scope.subscriptionId }, o))) {
    if (String(ws.record['location'] ?? '').toLowerCase() !== location) continue;
    for await (const c of allItems((o) => deps.store.listChildren(ws.id, 'cluster', o))) {
      const cluster = c.record as unknown as ClusterRecord;
      clusters += 1;
      // The cores a cluster holds are its nodes' (read live, as the cluster's node counts are).
      const cores = (await clusterNodes(deps, cluster)).length * vCpusOf(cluster.properties.vmSize);
      if (cluster.properties.vmPriority === 'lowpriority') lowPriority += cores;
      else dedicated += cores;
    }
  }
  return {
    value: [
      usage('Clusters', clusters, DEFAULT_QUOTAS.clusters),
      usage('Total Cluster Dedicated Regional vCPUs', dedicated, DEFAULT_QUOTAS.dedicatedVCpus),
      usage('Total Cluster LowPriority Regional vCPUs', lowPriority, DEFAULT_QUOTAS.lowPriorityVCpus),
    ],
  };
}
