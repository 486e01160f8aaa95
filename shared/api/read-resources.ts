import type { BatchAiResourceId, BatchAiResourceKind } from '../domain/resource-id.js';
import type { ListOptions } from '../stores/resource-store.js';
import type { ApiDeps } from './api-deps.js';
import { withLiveNodeCounts } from './cluster-nodes.js';
import { mustGet, requireParents, viewOf } from './records.js';

export async function getResource(
  deps: Pick<ApiDeps, 'store' | 'nodes'>,
  id: BatchAiResourceId,
): Promise<Record<string, unknown>> {
  return viewOf(await withLiveNodeCounts(deps, await mustGet(deps.store, id)));
}

export interface ViewPage {
  value: Record<string, unknown>[];
  continuation?: string;
}

/** A page of children (experiments, clusters, file servers of a workspace; jobs of an experiment). */
export async function listChildren(
  deps: Pick<ApiDeps, 'store' | 'nodes'>,
  parent: BatchAiResourceId,
  kind: BatchAiResourceKind,
  options: ListOptions,
): Promise<ViewPage> {
  // Listing under a parent that does not exist is a 404, as ARM does, not an empty list.
  await requireParents(deps.store, parent);
  await mustGet(deps.store, parent);
  const page = await deps.store.listChildren(parent, kind, options);
  const items = await Promise.all(page.items.map((item) => withLiveNodeCounts(deps, item)));
  return { value: items.map(viewOf), ...(page.continuation ? { continuation: page.continuation } : {}) };
}

export async function listWorkspaces(
  deps: Pick<ApiDeps, 'store'>,
  scope: { subscriptionId: string; resourceGroup?: string },
  options: ListOptions,
): Promise<ViewPage> {
  const page = await deps.store.listWorkspaces(scope, options);
  return { value: page.items.map(viewOf), ...(page.continuation ? { continuation: page.continuation } : {}) };
}
