import type { BatchAiResourceId, BatchAiResourceKind } from '../domain/resource-id.js';

// The API's view of persistence: Batch AI resources addressed by their ARM ids. Implementations are named
// for their backend (CosmosResourceStore); callers only see this role.

export interface StoredResource<R = Record<string, unknown>> {
  id: BatchAiResourceId;
  /** The resource id as first created (ARM keeps the creator's casing of names). */
  resourceId: string;
  /** The domain record (JobRecord, ClusterRecord, ...) with every secret value sealed. */
  record: R;
  /** Keyed hash of the accepted body: the same PUT again is recognised without keeping secrets in clear. */
  bodyHash: string;
  /** The principal that created it (jobs: what a Job submitter's ownership condition checks). */
  createdBy?: string;
  createdAt: string;
  updatedAt: string;
  /** Optimistic-concurrency token; absent on records not yet written. */
  etag?: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  continuation?: string;
}

export interface ListOptions {
  maxItems?: number;
  continuation?: string;
}

/** Every item of a paged listing, page after page. */
export async function* allItems<T>(
  list: (options: ListOptions) => Promise<Page<T>>,
  pageSize = 100,
): AsyncGenerator<T> {
  let continuation: string | undefined;
  do {
    const page = await list({ maxItems: pageSize, ...(continuation ? { continuation } : {}) });
    yield* page.items;
    continuation = page.continuation;
  } while (continuation);
}

export class ConcurrencyConflictError extends Error {
  constructor(readonly resourceId: string) {
    super(`${resourceId} was changed by someone else; read it again and retry`);
    this.name = 'ConcurrencyConflictError';
  }
}

export interface ResourceStore {
  get(id: BatchAiResourceId): Promise<StoredResource | undefined>;
  /** Creates the resource unless one with this id exists; either way returns what is stored. */
  createIfAbsent(resource: StoredResource): Promise<{ created: boolean; resource: StoredResource }>;
  /** Replaces the stored resource if its etag still matches; ConcurrencyConflictError otherwise. */
  replace(resource: StoredResource & { etag: string }): Promise<StoredResource>;
  /**
   * Read-modify-write with If-Match, retried on conflict, so no concurrent update is lost. `change` returns
   * the new record, or undefined to leave it as is. Returns undefined when the resource does not exist.
   */
  update(
    id: BatchAiResourceId,
    change: (current: StoredResource) => StoredResource | undefined,
  ): Promise<StoredResource | undefined>;
  delete(id: BatchAiResourceId): Promise<boolean>;
  /** Children of one kind under a parent (experiments of a workspace, jobs of an experiment, ...), in creation order. */
  listChildren(
    parent: BatchAiResourceId,
    kind: BatchAiResourceKind,
    options?: ListOptions,
  ): Promise<Page<StoredResource>>;
  listWorkspaces(
    scope: { subscriptionId: string; resourceGroup?: string },
    options?: ListOptions,
  ): Promise<Page<StoredResource>>;
  /** Resources of one kind in one provisioning state, across every workspace (the reconciler's scan). */
  listByProvisioningState(
    kind: BatchAiResourceKind,
    provisioningState: string,
    options?: ListOptions,
  ): Promise<Page<StoredResource>>;
}

/** A long-running operation's status, as the ARM operation-status endpoint reports it. */
export interface OperationRecord {
  operationId: string;
  resourceId: string;
  action: 'create' | 'update' | 'delete' | 'terminate';
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
}

export interface OperationStore {
  put(operation: OperationRecord): Promise<void>;
  /** Records the operation unless it is already known (a retried request must not reset its status). */
  createIfAbsent(operation: OperationRecord): Promise<void>;
  get(operationId: string): Promise<OperationRecord | undefined>;
}
