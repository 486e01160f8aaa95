import { createApiError } from '../domain/api-errors.js';
import type { ClusterRecord } from '../domain/cluster-view.js';
import type { FileServerRecord } from '../domain/file-server-view.js';
import { checkOutputBrowseDirectory, jobOutputLocation } from '../domain/job-outputs.js';
import { type JobRecord, jobOutputDirectoryPathSegment } from '../domain/job-view.js';
import type { JobResourceId } from '../domain/resource-id.js';
import { parseBatchAiResourceIdOf } from '../domain/resource-id.js';
import type { OutputFile } from '../stores/output-files.js';
import type { ApiDeps } from './api-deps.js';
import { mustGet } from './records.js';

// Jobs_ListOutputFiles and *_ListRemoteLoginInformation. Both answer from what exists: output files appear once
// a job has run on nodes and uploaded them, login information once nodes are allocated.

/** The output directory ids a job can list: its declared outputDirectories plus the built-in `stdouterr`. */
export function outputDirectoryIds(job: JobRecord): string[] {
  return ['stdouterr', ...(job.properties.outputDirectories ?? []).map((d) => d.id)];
}

export async function listJobOutputFiles(
  deps: Pick<ApiDeps, 'store' | 'outputFiles' | 'secrets'>,
  id: JobResourceId,
  query: {
    outputdirectoryid?: string | null;
    directory?: string | null;
    linkexpiryinminutes?: string | null;
    maxresults?: string | null;
    continuation?: string;
    /** The app's public base URL (download links to files the app serves). */
    baseUrl?: string;
  },
): Promise<{ value: OutputFile[]; continuation?: string }> {
  const job = (await mustGet(deps.store, id)).record as unknown as JobRecord;
  const directoryId = query.outputdirectoryid;
  if (!directoryId) {
    throw createApiError('MissingRequiredProperty', { target: 'outputdirectoryid' }, { target: 'outputdirectoryid' });
  }
  const known = outputDirectoryIds(job);
  const match = known.find((d) => d.toLowerCase() === directoryId.toLowerCase());
  if (!match) {
    throw createApiError(
      'InvalidPropertyValue',
      {
        target: 'outputdirectoryid',
        reason: `the job has no output directory '${directoryId}' (it has ${known.join(', ')})`,
      },
      { target: 'outputdirectoryid' },
    );
  }
  // A directory that could name a place outside the output directory, in any spelling, is a 400.
  const checked = checkOutputBrowseDirectory(query.directory);
  if (!checked.ok) {
    throw createApiError(
      'InvalidPropertyValue',
      { target: 'directory', reason: checked.reason },
      { target: 'directory' },
    );
  }
  const directory = checked.value === '' ? '.' : checked.value;
  const linkExpiryMinutes = boundedInt(query.linkexpiryinminutes, 'linkexpiryinminutes', 60, 5, 600);
  const maxResults = boundedInt(query.maxresults, 'maxresults', 1000, 1, 1000);
  // The storage behind the directory: the job's mount (or the cluster's) at the start of its path.
  const cluster = await clusterOf(deps, job);
  const clusterMounts = cluster?.properties.nodeSetup?.mountVolumes;
  const where = jobOutputLocation(job.properties, jobOutputDirectoryPathSegment(job.id, job.uid), match, clusterMounts);
  if (!where) throw new Error(`output directory ${match} vanished`);
  const loc = where.location;
  let accountKey: string | undefined;
  if (loc.kind === 'azureBlob') {
    const mounts = [
      ...(job.properties.mountVolumes?.azureBlobFileSystems ?? []),
      ...(clusterMounts?.azureBlobFileSystems ?? []),
    ];
    const sealed = mounts.find((m) => m.accountName === loc.accountName && m.containerName === loc.containerName)
      ?.credentials.accountKey;
    accountKey = sealed ? deps.secrets.open(sealed) : undefined;
  }
  let exportPath: string | undefined;
  if (loc.kind === 'fileServer') {
    const parsed = parseBatchAiResourceIdOf('fileServer', loc.fileServerId);
    const server = parsed.ok ? await deps.store.get(parsed.value) : undefined;
    exportPath = (server?.record as unknown as FileServerRecord | undefined)?.mountSettings?.mountPoint;
  }
  const page = await deps.outputFiles.list({
    location: loc,
    ...(accountKey ? { accountKey } : {}),
    ...(exportPath ? { exportPath } : {}),
    directory,
    linkExpiryMinutes,
    maxResults,
    baseUrl: query.baseUrl ?? '',
    ...(query.continuation ? { continuation: query.continuation } : {}),
  });
  return { value: page.items, ...(page.continuation ? { continuation: page.continuation } : {}) };
}

async function clusterOf(deps: Pick<ApiDeps, 'store'>, job: JobRecord): Promise<ClusterRecord | undefined> {
  const parsed = parseBatchAiResourceIdOf('cluster', job.properties.cluster.id);
  if (!parsed.ok) return undefined;
  return (await deps.store.get(parsed.value))?.record as unknown as ClusterRecord | undefined;
}

function boundedInt(raw: string | null | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw createApiError(
      'InvalidPropertyValue',
      { target: name, reason: `must be an integer from ${min} to ${max}` },
      { target: name },
    );
  }
  return value;
}

export async function listJobRemoteLogins(
  deps: Pick<ApiDeps, 'store' | 'nodes'>,
  id: JobResourceId,
): Promise<{ value: Array<{ nodeId: string; ipAddress: string; port: number }> }> {
  const job = (await mustGet(deps.store, id)).record as unknown as JobRecord & { run?: { nodeIds: string[] } };
  // The nodes the job's current attempt holds; a queued or finished job holds none.
  const nodeIds = job.run?.nodeIds ?? [];
  const nodes = await Promise.all(
    nodeIds.map(async (nodeId) => {
      const at = nodeId.lastIndexOf('_');
      const node = await deps.nodes.get(nodeId.slice(0, at), nodeId.slice(at + 1));
      return node?.ipAddress !== undefined && node.port !== undefined
        ? [{ nodeId, ipAddress: node.ipAddress, port: node.port }]
        : [];
    }),
  );
  return { value: nodes.flat() };
}
