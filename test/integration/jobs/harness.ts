import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from '../../../shared/config/well-known-emulator-credentials.js';
import { CosmosScheduleStore, SCHEDULES_CONTAINER } from '../../../shared/cosmos/cosmos-schedule-store.js';
import { HOST_EXECUTION_IMAGE } from '../../../shared/domain/launch-plans/host-execution.js';
import type { ClusterSchedule, QueuedJob } from '../../../shared/domain/scheduling.js';
import { BatchAiApi } from '../../support/api-client.js';
import { cosmosClient, type TestStack } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { waitForNodes } from '../clusters/harness.js';

// Shared by the job tests: a workspace with a host-execution cluster of idle nodes, job bodies that keep their
// logs and outputs on an Azure Files share (locally a directory under the compute network root), and reading a
// job through the public API.

export const SHARE = 'jobs';

export interface JobCluster {
  api: BatchAiApi;
  clusterId: string;
  clusterPath: string;
  jobPath(name: string): string;
}

export async function hostCluster(
  stack: TestStack,
  nodes: number,
  ws = 'ws',
  name = 'c',
  vmPriority: 'dedicated' | 'lowpriority' = 'dedicated',
): Promise<JobCluster> {
  const api = new BatchAiApi(stack.descriptor);
  const wsPath = api.workspacePath(ws);
  for (const [path, body] of [
    [wsPath, { location: 'local' }],
    [`${wsPath}/experiments/exp`, {}],
  ] as const) {
    const r = await api.call('PUT', path, { body });
    if (r.status !== 200) throw new Error(`PUT ${path}: ${r.status} ${r.text}`);
  }
  const clusterPath = `${wsPath}/clusters/${name}`;
  const created = await api.call('PUT', clusterPath, {
    body: {
      properties: {
        vmSize: 'STANDARD_D1_V2',
        vmPriority,
        virtualMachineConfiguration: { imageReference: HOST_EXECUTION_IMAGE },
        scaleSettings: { manual: { targetNodeCount: nodes } },
        userAccountSettings: { adminUserName: 'demo', adminUserPassword: 'cluster-Pa55word' },
      },
    },
  });
  if (created.status !== 202) throw new Error(`PUT cluster: ${created.status} ${created.text}`);
  await waitForNodes(api, clusterPath, { idleNodeCount: nodes, current: nodes, steady: true }, 180_000);
  return {
    api,
    clusterId: api.clusterId(ws, name),
    clusterPath,
    jobPath: (job) => api.jobPath(ws, 'exp', job),
  };
}

/** The share every test job mounts at $AZ_BATCHAI_JOB_MOUNT_ROOT/afs. */
export const shareMount = (share = SHARE) => ({
  azureFileShares: [
    {
      accountName: AZURITE_ACCOUNT_NAME,
      azureFileUrl: `https://${AZURITE_ACCOUNT_NAME}.file.core.windows.net/${share}`,
      credentials: { accountKey: AZURITE_ACCOUNT_KEY },
      relativeMountPath: 'afs',
    },
  ],
});

export function jobBody(clusterId: string, properties: Record<string, unknown>) {
  return {
    properties: {
      cluster: { id: clusterId },
      nodeCount: 1,
      stdOutErrPathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/afs',
      mountVolumes: shareMount(),
      outputDirectories: [{ id: 'OUT', pathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/afs', pathSuffix: 'out' }],
      ...properties,
    },
  };
}

export interface JobView {
  executionState: string;
  provisioningState: string;
  jobOutputDirectoryPathSegment: string;
  executionInfo?: {
    startTime?: string;
    endTime?: string;
    exitCode?: number;
    errors?: Array<{ code: string; message: string; details?: Array<{ name: string; value: string }> }>;
  };
  'x-batchai-attempts'?: Array<{
    attempt: number;
    kind: string;
    code: string;
    message: string;
    countsAgainstCap?: boolean;
  }>;
}

export async function getJob(api: BatchAiApi, path: string): Promise<JobView | undefined> {
  const r = await api.call<{ properties: JobView }>('GET', path);
  return r.status === 200 ? r.body.properties : undefined;
}

export async function submitJob(api: BatchAiApi, path: string, body: unknown): Promise<void> {
  const r = await api.call('PUT', path, { body });
  if (r.status !== 202 && r.status !== 200) throw new Error(`PUT ${path}: ${r.status} ${r.text}`);
}

/** Waits until the job is in one of `states`, printing the last view on timeout. */
export async function waitForJob(
  api: BatchAiApi,
  path: string,
  states: readonly string[],
  timeoutMs = 120_000,
): Promise<JobView> {
  let last: JobView | undefined;
  try {
    return await waitFor(
      `job ${path} to be ${states.join(' or ')}`,
      async () => {
        last = await getJob(api, path);
        return last && states.includes(last.executionState) ? last : false;
      },
      timeoutMs,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`);
  }
}

/** Where the share's files are on this machine (the compute emulator's shared network directory). */
export const shareDirectory = (stack: TestStack, share = SHARE) =>
  join(stack.dataDir, 'compute', 'network', 'azurefiles', AZURITE_ACCOUNT_NAME, share);

export async function readShareFile(stack: TestStack, relative: string, share = SHARE): Promise<string> {
  return readFile(join(shareDirectory(stack, share), relative), 'utf8');
}

export interface ListedFile {
  name: string;
  fileType: string;
  downloadUrl?: string;
  properties?: { contentLength: number; lastModified: string };
}

export async function listOutputs(
  api: BatchAiApi,
  path: string,
  id: string,
  extra = '',
): Promise<{ value: ListedFile[]; nextLink?: string }> {
  const r = await api.call<{ value: ListedFile[]; nextLink?: string }>(
    'POST',
    `${path}/listOutputFiles?outputdirectoryid=${encodeURIComponent(id)}${extra}`,
  );
  if (r.status !== 200) throw new Error(`listOutputFiles ${id}: ${r.status} ${r.text}`);
  return r.body;
}

export async function remoteLogins(api: BatchAiApi, path: string) {
  const r = await api.call<{ value: Array<{ nodeId: string; ipAddress: string; port: number }> }>(
    'POST',
    `${path}/listRemoteLoginInformation`,
  );
  if (r.status !== 200) throw new Error(`listRemoteLoginInformation: ${r.status} ${r.text}`);
  return r.body.value;
}

/** The stack's schedule documents, as the scheduler reads them (tests wait on the queue through it). */
export const scheduleStore = (stack: TestStack): CosmosScheduleStore =>
  new CosmosScheduleStore(
    cosmosClient(stack.descriptor)
      .database(stack.descriptor.cosmos.database)
      .container(SCHEDULES_CONTAINER.id as string),
  );

/** The jobs of a schedule that wait for a node: queued, or staged behind a running job (decision 0120). */
export const waitingJobs = (doc: ClusterSchedule): QueuedJob[] => [...doc.queue, ...(doc.staged ?? [])];
