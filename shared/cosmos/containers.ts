import type { Container, ContainerRequest, CosmosClient, Database } from '@azure/cosmos';

// The Cosmos layout, in one place.
// - `resources`, partitioned by workspace: every API read (a workspace's experiments, clusters, file servers,
//   an experiment's jobs) stays in one partition; listing workspaces of a subscription is the one fan-out.
// - `operations`, partitioned by id: long-running-operation status documents, read by id only.
// Contended scheduling state (a cluster's nodes, queue and allocations) gets its own container, partitioned by
// cluster, with one document per cluster updated under If-Match (see cosmos-emulator-notes: local batches are
// not atomic); it is created by the scheduling code that owns it.
// - `roleAssignments`, partitioned by id (the assignment's GUID name): few documents, read by principal on every
//   API request (one small cross-partition query) and by name on the roleAssignments surface.
export const CONTAINERS: Record<'resources' | 'operations' | 'roleAssignments', ContainerRequest> = {
  resources: { id: 'resources', partitionKey: { paths: ['/pk'] } },
  operations: { id: 'operations', partitionKey: { paths: ['/id'] } },
  roleAssignments: { id: 'roleAssignments', partitionKey: { paths: ['/id'] } },
};

export interface BatchAiContainers {
  database: Database;
  resources: Container;
  operations: Container;
  roleAssignments: Container;
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
      const [resources, operations, roleAssignments] = await Promise.all(
        [CONTAINERS.resources, CONTAINERS.operations, CONTAINERS.roleAssignments].map(
          async (def) => (await database.containers.createIfNotExists(def)).container,
        ),
      );
      return { database, resources: resources!, operations: operations!, roleAssignments: roleAssignments! };
    })();
    promise.catch(() => byDb?.delete(databaseId));
    byDb.set(databaseId, promise);
  }
  return promise;
}
