import type { Container, ItemDefinition } from '@azure/cosmos';
import { createApiError } from '../domain/api-errors.js';
import type { BatchAiResourceId, BatchAiResourceKind } from '../domain/resource-id.js';
import {
  ConcurrencyConflictError,
  type ListOptions,
  type Page,
  type ResourceStore,
  type StoredResource,
} from '../stores/resource-store.js';
import { conflictBackoff, MAX_CONFLICT_ATTEMPTS } from './conflict-backoff.js';

interface ResourceDocument extends ItemDefinition {
  id: string;
  pk: string;
  /** `{subscription}|{resourceGroup}` lowercased: the scope workspaces are listed by. */
  scope: string;
  kind: BatchAiResourceKind;
  parent: string;
  seq: number;
  resource: Omit<StoredResource, 'etag'>;
}

// ARM names are case-insensitive: `Exp1` and `exp1` are the same resource, so keys are lowercased while the
// stored resource keeps the creator's casing.
const lower = (s: string) => s.toLowerCase();

export function partitionKeyOf(id: BatchAiResourceId): string {
  return [id.subscriptionId, id.resourceGroup, id.workspace].map(lower).join('|');
}

export function documentIdOf(id: BatchAiResourceId): string {
  switch (id.kind) {
    case 'workspace':
      return 'workspace';
    case 'experiment':
      return `experiment|${lower(id.experiment)}`;
    case 'job':
      return `job|${lower(id.experiment)}|${lower(id.job)}`;
    case 'cluster':
      return `cluster|${lower(id.cluster)}`;
    case 'fileServer':
      return `fileServer|${lower(id.fileServer)}`;
  }
}

function encodeContinuation(token: string | undefined): string | undefined {
  return token ? Buffer.from(token, 'utf8').toString('base64url') : undefined;
}

function decodeContinuation(token: string | undefined): string | undefined {
  return token ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Listing order: creation time, ties (same millisecond) broken by a stable hash of the id. */
function sequenceOf(resource: StoredResource): number {
  let hash = 0;
  for (const ch of documentIdOf(resource.id)) hash = (hash * 31 + ch.charCodeAt(0)) % 1000;
  return Date.parse(resource.createdAt) * 1000 + hash;
}

export class CosmosResourceStore implements ResourceStore {
  constructor(private readonly container: Container) {}

  async get(id: BatchAiResourceId): Promise<StoredResource | undefined> {
    const { resource } = await this.container.item(documentIdOf(id), partitionKeyOf(id)).read<ResourceDocument>();
    return resource ? toStored(resource) : undefined;
  }

  async createIfAbsent(resource: StoredResource): Promise<{ created: boolean; resource: StoredResource }> {
    try {
      const { resource: doc } = await this.container.items.create<ResourceDocument>(toDocument(resource));
      return { created: true, resource: toStored(doc!) };
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      const existing = await this.get(resource.id);
      // Deleted between our create and our read: try once more rather than report a phantom.
      if (!existing) return this.createIfAbsent(resource);
      return { created: false, resource: existing };
    }
  }

  async replace(resource: StoredResource & { etag: string }): Promise<StoredResource> {
    try {
      const { resource: doc } = await this.container
        .item(documentIdOf(resource.id), partitionKeyOf(resource.id))
        .replace<ResourceDocument>(toDocument(resource), {
          accessCondition: { type: 'IfMatch', condition: resource.etag },
        });
      return toStored(doc!);
    } catch (err) {
      if (statusOf(err) === 412 || statusOf(err) === 404) throw new ConcurrencyConflictError(resource.resourceId);
      throw err;
    }
  }

  async update(
    id: BatchAiResourceId,
    change: (current: StoredResource) => StoredResource | undefined,
  ): Promise<StoredResource | undefined> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.get(id);
      if (!current) return undefined;
      const next = change(current);
      if (!next) return current;
      try {
        return await this.replace({ ...next, etag: current.etag! });
      } catch (err) {
        if (!(err instanceof ConcurrencyConflictError) || attempt >= MAX_CONFLICT_ATTEMPTS) throw err;
        await conflictBackoff(attempt);
      }
    }
  }

  async delete(id: BatchAiResourceId): Promise<boolean> {
    try {
      await this.container.item(documentIdOf(id), partitionKeyOf(id)).delete();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  async listChildren(
    parent: BatchAiResourceId,
    kind: BatchAiResourceKind,
    options: ListOptions = {},
  ): Promise<Page<StoredResource>> {
    return this.page(
      {
        // The partition key is also in the filter: the local emulator ignores the partitionKey option of a query.
        query: 'SELECT * FROM c WHERE c.pk = @pk AND c.parent = @parent AND c.kind = @kind ORDER BY c.seq',
        parameters: [
          { name: '@pk', value: partitionKeyOf(parent) },
          { name: '@parent', value: documentIdOf(parent) },
          { name: '@kind', value: kind },
        ],
      },
      { partitionKey: partitionKeyOf(parent), ...options },
    );
  }

  async listWorkspaces(
    scope: { subscriptionId: string; resourceGroup?: string },
    options: ListOptions = {},
  ): Promise<Page<StoredResource>> {
    const sub = lower(scope.subscriptionId);
    return scope.resourceGroup
      ? this.page(
          {
            query: "SELECT * FROM c WHERE c.kind = 'workspace' AND c.scope = @scope ORDER BY c.seq",
            parameters: [{ name: '@scope', value: `${sub}|${lower(scope.resourceGroup)}` }],
          },
          options,
        )
      : this.page(
          {
            query: "SELECT * FROM c WHERE c.kind = 'workspace' AND STARTSWITH(c.scope, @prefix) ORDER BY c.seq",
            parameters: [{ name: '@prefix', value: `${sub}|` }],
          },
          options,
        );
  }

  async listByProvisioningState(
    kind: BatchAiResourceKind,
    provisioningState: string,
    options: ListOptions = {},
  ): Promise<Page<StoredResource>> {
    return this.page(
      {
        query: 'SELECT * FROM c WHERE c.kind = @kind AND c.resource.record.provisioningState = @state ORDER BY c.seq',
        parameters: [
          { name: '@kind', value: kind },
          { name: '@state', value: provisioningState },
        ],
      },
      options,
    );
  }

  private async page(
    query: { query: string; parameters: { name: string; value: string }[] },
    options: ListOptions & { partitionKey?: string },
  ): Promise<Page<StoredResource>> {
    const iterator = this.container.items.query<ResourceDocument>(query, {
      maxItemCount: options.maxItems ?? 100,
      ...(options.continuation ? { continuationToken: decodeContinuation(options.continuation) } : {}),
      ...(options.partitionKey ? { partitionKey: options.partitionKey } : {}),
    });
    let page: { resources: ResourceDocument[]; continuationToken?: string };
    try {
      page = await iterator.fetchNext();
    } catch (err) {
      // A token we did not issue (or one mangled in transit) is the caller's mistake, not a server fault.
      if (options.continuation && (statusOf(err) === 400 || statusOf(err) === undefined)) {
        throw createApiError(
          'InvalidPropertyValue',
          { target: '$skipToken', reason: 'it is not a continuation token this API returned' },
          { target: '$skipToken' },
        );
      }
      throw err;
    }
    const { resources, continuationToken } = page;
    const continuation = encodeContinuation(continuationToken);
    return { items: resources.map(toStored), ...(continuation ? { continuation } : {}) };
  }
}

function parentOf(id: BatchAiResourceId): string {
  switch (id.kind) {
    case 'workspace':
      return '';
    case 'job':
      return documentIdOf({ ...id, kind: 'experiment' });
    default:
      return 'workspace';
  }
}

function toDocument(resource: StoredResource): ResourceDocument {
  const { etag: _etag, ...rest } = resource;
  return {
    id: documentIdOf(resource.id),
    pk: partitionKeyOf(resource.id),
    scope: `${lower(resource.id.subscriptionId)}|${lower(resource.id.resourceGroup)}`,
    kind: resource.id.kind,
    parent: parentOf(resource.id),
    seq: sequenceOf(resource),
    resource: rest,
  };
}

function toStored(doc: ResourceDocument): StoredResource {
  return { ...doc.resource, etag: doc._etag as string };
}
