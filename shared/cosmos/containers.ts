import type { Container, ContainerRequest, CosmosClient, Database } from '@azure/cosmos';

// The Cosmos layout, in one place.
// - `resources`, partitioned by workspace: every API read (a workspace's experiments, clusters, file servers,
//   an experiment's jobs) stays in one partition; listing workspaces of a subscription is the one fan-out.
// - `operations`, partitioned by id: long-running-operation status documents, read by id only.
// - `nodes`, partitioned by scale set (one per cluster or file server): one document per node plus one tiny
//   heartbeat document per node, so the agents of one cluster never contend on one document and a heartbeat is a
//   blind upsert that cannot conflict with a state change.
// Contended scheduling state (a cluster's queue and allocations) gets one document per cluster updated under
// If-Match (see cosmos-emulator-notes: local batches are not atomic); it is created by the code that owns it.
export const CONTAINERS: Record<'resources' | 'operations' | 'nodes', ContainerRequest> = {
  resources: { id: 'resources', partitionKey: { paths: ['/pk'] } },
  operations: { id: 'operations', partitionKey: { paths: ['/id'] } },
  nodes: { id: 'nodes', partitionKey: { paths: ['/pk'] } },
};

export interface BatchAiContainers {
  database: Database;
  resources: Container;
  operations: Container;
  nodes: Container;
}

const ensured = new WeakMap<CosmosClient, Map<string, Promise<BatchAiContainers>>>();

/** Creates the database and containers once per client and database (idempotent, safe to race). */
export function ensureContainers(client: CosmosClient, databaseId: string): Promise<BatchAiContainers> {
  let byDb = ensured.get(client);
  if (!byDb) {
    byDb = new Map();
    ensured.set(client, byDb);
  }
  let promise = byDb.get(databaseId);
  if (!promise) {
    promise = (async () => {
      const { database } = await client.databases.createIfNotExists({ id: databaseId });
      const [resources, operations, nodes] = await Promise.all(
        [CONTAINERS.resources, CONTAINERS.operations, CONTAINERS.nodes].map(
          async (def) => (await database.containers.createIfNotExists(def)).container,
        ),
      );
      return { database, resources: resources!, operations: operations!, nodes: nodes! };
    })();
    promise.catch(() => byDb?.delete(databaseId));
    byDb.set(databaseId, promise);
  }
  return promise;
}
