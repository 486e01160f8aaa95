import { nodeIdOf, scaleSetNameFor } from '../domain/agent-protocol.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import { countNodeStates } from '../domain/nodes.js';
import type { ClusterResourceId } from '../domain/resource-id.js';
import type { StoredNode } from '../stores/node-store.js';
import type { StoredResource } from '../stores/resource-store.js';
import type { ApiDeps } from './api-deps.js';
import { mustGet } from './records.js';

// A cluster's node counts are read from its node records whenever the cluster is read, so they are true at
// every moment (one single-partition query per cluster) instead of a copy on the cluster document that every
// agent event would have to rewrite (one contended document per cluster: 412 storms).

export async function clusterNodes(deps: Pick<ApiDeps, 'nodes'>, cluster: ClusterRecord): Promise<StoredNode[]> {
  return cluster.uid ? deps.nodes.list(scaleSetNameFor('cluster', cluster.uid)) : [];
}

/** The stored cluster with currentNodeCount and nodeStateCounts as its nodes are now; other kinds unchanged. */
export async function withLiveNodeCounts(
  deps: Pick<ApiDeps, 'nodes'>,
  stored: StoredResource,
): Promise<StoredResource> {
  if (stored.id.kind !== 'cluster') return stored;
  const cluster = stored.record as unknown as ClusterRecord;
  const nodes = await clusterNodes(deps, cluster);
  return {
    ...stored,
    record: { ...stored.record, currentNodeCount: nodes.length, nodeStateCounts: countNodeStates(nodes) },
  };
}

export interface RemoteLoginInformation {
  nodeId: string;
  ipAddress: string;
  port: number;
}

/** Clusters_ListRemoteLoginInformation: every node that has an address (it registered). */
export async function listClusterRemoteLogins(
  deps: Pick<ApiDeps, 'store' | 'nodes'>,
  id: ClusterResourceId,
): Promise<{ value: RemoteLoginInformation[] }> {
  const cluster = (await mustGet(deps.store, id)).record as unknown as ClusterRecord;
  const nodes = await clusterNodes(deps, cluster);
  return {
    value: nodes
      .filter((n) => n.ipAddress !== undefined && n.port !== undefined)
      .sort((a, b) => Number(a.instanceId) - Number(b.instanceId))
      .map((n) => ({ nodeId: nodeIdOf(n.scaleSetName, n.instanceId), ipAddress: n.ipAddress!, port: n.port! })),
  };
}
