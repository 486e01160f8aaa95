import { isValidResourceName } from './resource-name.js';

// ARM resource ids: `/subscriptions/{sub}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{type}/{name}]...`.
// ARM compares the fixed words (subscriptions, providers, resource types) case-insensitively, so clients that send
// `fileservers` or `resourcegroups` are accepted; formatting always produces the spec's casing.

export const BATCH_AI_NAMESPACE = 'Microsoft.BatchAI';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// ARM's resource group rule: letters, digits, '_', '-', '.', '(' and ')'; 1-90 chars; no trailing '.'.
const RESOURCE_GROUP = /^[-\p{L}\p{N}_.()]{1,90}$/u;
const NAMESPACE = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$/;

export interface ArmResourceId {
  subscriptionId: string;
  resourceGroup: string;
  namespace: string;
  /** Type/name pairs after the namespace, outermost first, e.g. [{type:'virtualNetworks',...},{type:'subnets',...}]. */
  segments: Array<{ type: string; name: string }>;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export function parseArmResourceId(id: string): Parsed<ArmResourceId> {
  if (typeof id !== 'string' || id.length === 0) return { ok: false, reason: 'the id is empty' };
  if (!id.startsWith('/')) return { ok: false, reason: "the id must start with '/subscriptions/'" };
  const parts = id.replace(/\/+$/, '').split('/').slice(1);
  if (parts.some((p) => p.length === 0)) return { ok: false, reason: "the id contains an empty segment ('//')" };
  const [subscriptions, subscriptionId, resourceGroups, resourceGroup, providers, namespace, ...rest] = parts;
  if (!eq(subscriptions, 'subscriptions') || subscriptionId === undefined) {
    return { ok: false, reason: "the id must start with '/subscriptions/{subscriptionId}'" };
  }
  if (!GUID.test(subscriptionId)) return { ok: false, reason: `the subscription id '${subscriptionId}' is not a GUID` };
  if (!eq(resourceGroups, 'resourceGroups') || resourceGroup === undefined) {
    return { ok: false, reason: "'/resourceGroups/{resourceGroupName}' must follow the subscription" };
  }
  if (!RESOURCE_GROUP.test(resourceGroup) || resourceGroup.endsWith('.')) {
    return { ok: false, reason: `the resource group name '${resourceGroup}' is invalid` };
  }
  if (!eq(providers, 'providers') || namespace === undefined) {
    return { ok: false, reason: "'/providers/{namespace}' must follow the resource group" };
  }
  if (!NAMESPACE.test(namespace)) return { ok: false, reason: `'${namespace}' is not a resource provider namespace` };
  if (rest.length === 0 || rest.length % 2 !== 0) {
    return { ok: false, reason: 'the id must end with resource type/name pairs' };
  }
  const segments: ArmResourceId['segments'] = [];
  for (let i = 0; i < rest.length; i += 2) {
    segments.push({ type: rest[i] as string, name: rest[i + 1] as string });
  }
  return { ok: true, value: { subscriptionId, resourceGroup, namespace, segments } };
}

export function formatArmResourceId(id: ArmResourceId): string {
  const tail = id.segments.map((s) => `/${s.type}/${s.name}`).join('');
  return `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}/providers/${id.namespace}${tail}`;
}

/** `Microsoft.Network/virtualNetworks/subnets` style full type of a parsed id. */
export function armResourceType(id: ArmResourceId): string {
  return [id.namespace, ...id.segments.map((s) => s.type)].join('/');
}

function eq(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}

// --- Batch AI resources --------------------------------------------------------------------------------------------

export type BatchAiResourceKind = 'workspace' | 'experiment' | 'job' | 'cluster' | 'fileServer';

export interface WorkspaceResourceId {
  kind: 'workspace';
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
}
export interface ExperimentResourceId extends Omit<WorkspaceResourceId, 'kind'> {
  kind: 'experiment';
  experiment: string;
}
export interface JobResourceId extends Omit<ExperimentResourceId, 'kind'> {
  kind: 'job';
  job: string;
}
export interface ClusterResourceId extends Omit<WorkspaceResourceId, 'kind'> {
  kind: 'cluster';
  cluster: string;
}
export interface FileServerResourceId extends Omit<WorkspaceResourceId, 'kind'> {
  kind: 'fileServer';
  fileServer: string;
}
export type BatchAiResourceId =
  | WorkspaceResourceId
  | ExperimentResourceId
  | JobResourceId
  | ClusterResourceId
  | FileServerResourceId;

/** The `type` string of each resource in GET responses (what the live service returned, e.g. in `az batchai` output). */
export const RESOURCE_TYPES: Readonly<Record<BatchAiResourceKind, string>> = {
  workspace: 'Microsoft.BatchAI/workspaces',
  experiment: 'Microsoft.BatchAI/workspaces/experiments',
  job: 'Microsoft.BatchAI/workspaces/experiments/jobs',
  cluster: 'Microsoft.BatchAI/workspaces/clusters',
  fileServer: 'Microsoft.BatchAI/workspaces/fileServers',
};

/** Human wording used in error messages ("the resource id of a Batch AI cluster"). */
export const RESOURCE_DESCRIPTIONS: Readonly<Record<BatchAiResourceKind, string>> = {
  workspace: 'a Batch AI workspace',
  experiment: 'a Batch AI experiment',
  job: 'a Batch AI job',
  cluster: 'a Batch AI cluster',
  fileServer: 'a Batch AI file server',
};

const CHILD_TYPES: Record<string, 'experiments' | 'clusters' | 'fileServers'> = {
  experiments: 'experiments',
  clusters: 'clusters',
  fileservers: 'fileServers',
};

export function parseBatchAiResourceId(id: string): Parsed<BatchAiResourceId> {
  const arm = parseArmResourceId(id);
  if (!arm.ok) return arm;
  const { subscriptionId, resourceGroup, namespace, segments } = arm.value;
  if (!eq(namespace, BATCH_AI_NAMESPACE)) {
    return { ok: false, reason: `the provider must be '${BATCH_AI_NAMESPACE}', not '${namespace}'` };
  }
  const [ws, child, grandChild, ...extra] = segments;
  if (ws === undefined || !eq(ws.type, 'workspaces')) {
    return { ok: false, reason: `expected '/workspaces/{workspaceName}' after '/providers/${BATCH_AI_NAMESPACE}'` };
  }
  for (const s of segments) {
    if (!isValidResourceName(s.name)) return { ok: false, reason: `'${s.name}' is not a valid ${s.type} name` };
  }
  const base = { subscriptionId, resourceGroup, workspace: ws.name };
  if (child === undefined) return { ok: true, value: { kind: 'workspace', ...base } };
  const childType = CHILD_TYPES[child.type.toLowerCase()];
  if (childType === undefined) {
    return { ok: false, reason: `'${child.type}' is not a workspace child type (experiments, clusters, fileServers)` };
  }
  if (childType !== 'experiments') {
    if (grandChild !== undefined) return { ok: false, reason: `a ${childType} id has no child resources` };
    return childType === 'clusters'
      ? { ok: true, value: { kind: 'cluster', ...base, cluster: child.name } }
      : { ok: true, value: { kind: 'fileServer', ...base, fileServer: child.name } };
  }
  if (grandChild === undefined) return { ok: true, value: { kind: 'experiment', ...base, experiment: child.name } };
  if (!eq(grandChild.type, 'jobs') || extra.length > 0) {
    return { ok: false, reason: "only '/jobs/{jobName}' may follow an experiment" };
  }
  return { ok: true, value: { kind: 'job', ...base, experiment: child.name, job: grandChild.name } };
}

/** Parses and checks the kind in one step, for fields such as `cluster.id` that must name one resource type. */
export function parseBatchAiResourceIdOf<K extends BatchAiResourceKind>(
  kind: K,
  id: string,
): Parsed<Extract<BatchAiResourceId, { kind: K }>> {
  const parsed = parseBatchAiResourceId(id);
  if (!parsed.ok) return parsed;
  if (parsed.value.kind !== kind) {
    return { ok: false, reason: `it names ${RESOURCE_DESCRIPTIONS[parsed.value.kind]}` };
  }
  return { ok: true, value: parsed.value as Extract<BatchAiResourceId, { kind: K }> };
}

export function formatBatchAiResourceId(id: BatchAiResourceId): string {
  const ws = `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}/providers/${BATCH_AI_NAMESPACE}/workspaces/${id.workspace}`;
  switch (id.kind) {
    case 'workspace':
      return ws;
    case 'experiment':
      return `${ws}/experiments/${id.experiment}`;
    case 'job':
      return `${ws}/experiments/${id.experiment}/jobs/${id.job}`;
    case 'cluster':
      return `${ws}/clusters/${id.cluster}`;
    case 'fileServer':
      return `${ws}/fileServers/${id.fileServer}`;
  }
}

/** The last segment: what GET returns as `name`. */
export function batchAiResourceName(id: BatchAiResourceId): string {
  switch (id.kind) {
    case 'workspace':
      return id.workspace;
    case 'experiment':
      return id.experiment;
    case 'job':
      return id.job;
    case 'cluster':
      return id.cluster;
    case 'fileServer':
      return id.fileServer;
  }
}

// --- Other providers' resources referenced by Batch AI bodies --------------------------------------------------------

export interface ForeignResourceType {
  /** Full type, e.g. `Microsoft.Network/virtualNetworks/subnets`. */
  type: string;
  description: string;
}

export const SUBNET: ForeignResourceType = {
  type: 'Microsoft.Network/virtualNetworks/subnets',
  description: 'a virtual network subnet',
};
export const KEY_VAULT: ForeignResourceType = { type: 'Microsoft.KeyVault/vaults', description: 'a Key Vault' };
export const APP_INSIGHTS_COMPONENT: ForeignResourceType = {
  type: 'Microsoft.Insights/components',
  description: 'an Application Insights component',
};
export const VM_IMAGE: ForeignResourceType = {
  type: 'Microsoft.Compute/images',
  description: 'a virtual machine image',
};

export function parseArmResourceIdOf(expected: ForeignResourceType, id: string): Parsed<ArmResourceId> {
  const parsed = parseArmResourceId(id);
  if (!parsed.ok) return parsed;
  const actual = armResourceType(parsed.value);
  if (actual.toLowerCase() !== expected.type.toLowerCase()) {
    return { ok: false, reason: `it is of type '${actual}', expected '${expected.type}'` };
  }
  return parsed;
}
