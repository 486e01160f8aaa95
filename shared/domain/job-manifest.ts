import { completeJobFile } from './job-file.js';
import { isJsonObject } from './validate-body.js';

// A job manifest dropped in blob storage is what `az batchai job create -f job.json` users have: the public recipes'
// job.json. Those files name no cluster (the CLI took --cluster) and often leave out the storage account name and
// key of their Azure Files shares and blob containers (the CLI took --storage-account-name/-key or its defaults).
// The manifest channel completes them the same way before the one strict validation every channel shares:
// - the cluster may be given by name (`"cluster": "gpu"`, `{ "id": "gpu" }` or `{ "name": "gpu" }`) instead of its
//   resource id; a manifest that names none runs on the workspace's only cluster, and is rejected with the reason
//   when the workspace has none or several;
// - mounts without accountName/credentials get the deployment's configured job storage account (job-file.ts), and
//   the recipes' placeholder <AZURE_BATCHAI_STORAGE_ACCOUNT> (in accountName or an azureFileUrl) names that account,
//   so a recipe runs as it is published.
// The ARM PUT does none of this: the spec requires `cluster.id` and the credentials.

export interface JobManifestContext {
  /** The clusters of the job's workspace (name as created, resource id). */
  clusters: ReadonlyArray<{ name: string; id: string }>;
  /** The deployment's storage account for job files that name none (BATCHAI_JOB_FILE_STORAGE). */
  storageAccount?: { name: string; key: string } | undefined;
}

export type ManifestNormalization = { ok: true; value: unknown } | { ok: false; target: string; reason: string };

/** A completed copy of the manifest, or why its cluster cannot be told. Other problems are left to validation. */
export function normalizeJobManifest(manifest: unknown, context: JobManifestContext): ManifestNormalization {
  if (!isJsonObject(manifest) || !isJsonObject(manifest['properties'])) return { ok: true, value: manifest };
  const properties: Record<string, unknown> = { ...manifest['properties'] };
  const cluster = resolveCluster(properties['cluster'], context.clusters);
  if (!cluster.ok) return cluster;
  if (cluster.id !== undefined) properties['cluster'] = { id: cluster.id };
  if (context.storageAccount !== undefined) fillPlaceholders(properties, context.storageAccount.name);
  const completed = completeJobFile(
    { ...manifest, properties },
    { clusterId: cluster.id ?? '', ...(context.storageAccount ? { storageAccount: context.storageAccount } : {}) },
  );
  return { ok: true, value: completed };
}

type ClusterResolution = { ok: true; id: string | undefined } | { ok: false; target: string; reason: string };

function resolveCluster(given: unknown, clusters: JobManifestContext['clusters']): ClusterResolution {
  const names = clusters.map((c) => `'${c.name}'`).join(', ');
  if (given === undefined || given === null) {
    if (clusters.length === 1) return { ok: true, id: clusters[0]!.id };
    return {
      ok: false,
      target: 'properties.cluster',
      reason:
        clusters.length === 0
          ? 'the manifest names no cluster and the workspace has none; create a cluster first'
          : `the manifest names no cluster and the workspace has ${clusters.length} (${names}); name one in properties.cluster`,
    };
  }
  let reference: unknown = given;
  if (isJsonObject(given)) {
    const keys = Object.keys(given);
    // `{ id }` with a full resource id is the spec's form: left as it is for the validator and the submit path.
    if (keys.length === 1 && (keys[0] === 'id' || keys[0] === 'name')) reference = given[keys[0]];
    else return { ok: true, id: undefined };
  }
  if (typeof reference !== 'string') return { ok: true, id: undefined };
  if (reference.startsWith('/')) return { ok: true, id: reference };
  const match = clusters.find((c) => c.name.toLowerCase() === reference.toLowerCase());
  if (match === undefined) {
    return {
      ok: false,
      target: 'properties.cluster',
      reason: `the workspace has no cluster named '${reference}'${clusters.length > 0 ? ` (it has ${names})` : ''}`,
    };
  }
  return { ok: true, id: match.id };
}

export const STORAGE_ACCOUNT_PLACEHOLDER = '<AZURE_BATCHAI_STORAGE_ACCOUNT>';

function fillPlaceholders(properties: Record<string, unknown>, account: string): void {
  const volumes = properties['mountVolumes'];
  if (!isJsonObject(volumes)) return;
  const fill = (value: unknown) =>
    typeof value === 'string' ? value.split(STORAGE_ACCOUNT_PLACEHOLDER).join(account) : value;
  const out: Record<string, unknown> = { ...volumes };
  for (const kind of ['azureFileShares', 'azureBlobFileSystems'] as const) {
    const list = volumes[kind];
    if (!Array.isArray(list)) continue;
    out[kind] = list.map((mount: unknown) => {
      if (!isJsonObject(mount)) return mount;
      const copy: Record<string, unknown> = { ...mount };
      for (const key of ['accountName', 'azureFileUrl']) if (key in copy) copy[key] = fill(copy[key]);
      return copy;
    });
  }
  properties['mountVolumes'] = out;
}
