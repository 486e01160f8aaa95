import { isJsonObject } from './validate-body.js';

// Batch AI's CLI (`az batchai job create -f job.json --cluster ... --storage-account-name ...`) accepted job files
// that leave out what the REST API requires: the cluster, and the storage account name and key of each Azure Files
// share or blob container mount. It filled those in before sending the PUT. The published recipes are such files,
// so any entry point that takes job files (CLI, blob manifests) completes them the same way before validating.

export interface JobFileContext {
  /** Resource id of the cluster to run on, used when the file names none. */
  clusterId: string;
  /** The account used for mounts that name no account (or name this one) and carry no credentials. */
  storageAccount?: { name: string; key: string };
}

/** Returns a completed copy; input that is not a job file shape is returned unchanged for the validator to report. */
export function completeJobFile(file: unknown, context: JobFileContext): unknown {
  if (!isJsonObject(file) || !isJsonObject(file['properties'])) return file;
  const properties: Record<string, unknown> = { ...file['properties'] };
  if (properties['cluster'] === undefined || properties['cluster'] === null) {
    properties['cluster'] = { id: context.clusterId };
  }
  const volumes = properties['mountVolumes'];
  if (isJsonObject(volumes)) {
    properties['mountVolumes'] = {
      ...volumes,
      ...completeMounts(volumes, 'azureFileShares', context),
      ...completeMounts(volumes, 'azureBlobFileSystems', context),
    };
  }
  return { ...file, properties };
}

function completeMounts(
  volumes: Record<string, unknown>,
  kind: 'azureFileShares' | 'azureBlobFileSystems',
  context: JobFileContext,
): Record<string, unknown> {
  const list = volumes[kind];
  if (!Array.isArray(list)) return {};
  return {
    [kind]: list.map((mount: unknown) => {
      if (!isJsonObject(mount)) return mount;
      const out: Record<string, unknown> = { ...mount };
      if (typeof out['accountName'] !== 'string') {
        const name = accountFromFileUrl(out['azureFileUrl']) ?? context.storageAccount?.name;
        if (name !== undefined) out['accountName'] = name;
      }
      const account = context.storageAccount;
      if (out['credentials'] === undefined && account !== undefined && out['accountName'] === account.name) {
        out['credentials'] = { accountKey: account.key };
      }
      return out;
    }),
  };
}

// https://{account}.file.core.windows.net/{share} (any cloud's suffix).
function accountFromFileUrl(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    const host = new URL(url).hostname;
    const match = /^([a-z0-9]+)\.file\./i.exec(host);
    return match?.[1];
  } catch {
    return undefined;
  }
}
