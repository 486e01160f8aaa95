import type { ComputeManagementClient } from '@azure/arm-compute';
import { createComputeClient, localStaticCredential } from '../../../shared/compute/arm-scale-sets.js';
import type { BatchAiApi } from '../../support/api-client.js';
import type { TestStack } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';

// Shared by the cluster tests: cluster bodies, reading a cluster through the public API, and the compute
// emulator seen through the real SDK (what is running there, independently of what the app says).

export interface ClusterView {
  status: number;
  properties: {
    provisioningState: string;
    allocationState: string;
    currentNodeCount: number;
    nodeStateCounts: {
      idleNodeCount: number;
      runningNodeCount: number;
      preparingNodeCount: number;
      unusableNodeCount: number;
      leavingNodeCount: number;
    };
    errors?: Array<{ code: string; message: string; details?: Array<{ name: string; value: string }> }>;
  };
}

export const clusterBody = (scaleSettings: unknown, extra: Record<string, unknown> = {}) => ({
  properties: {
    vmSize: 'STANDARD_D1_V2',
    vmPriority: 'lowpriority',
    scaleSettings,
    userAccountSettings: { adminUserName: 'admin', adminUserPassword: 'cluster-Pa55word' },
    ...extra,
  },
});

export async function getCluster(api: BatchAiApi, path: string): Promise<ClusterView> {
  const r = await api.call<{ properties: ClusterView['properties'] }>('GET', path);
  return { status: r.status, properties: r.body?.properties };
}

/** Waits until the cluster's node counts match (and it is steady), printing the last view on timeout. */
export async function waitForNodes(
  api: BatchAiApi,
  path: string,
  want: Partial<ClusterView['properties']['nodeStateCounts']> & { steady?: boolean; current?: number },
  timeoutMs = 60_000,
): Promise<ClusterView> {
  let last: ClusterView | undefined;
  try {
    return await waitFor(
      `cluster ${path} to reach ${JSON.stringify(want)}`,
      async () => {
        last = await getCluster(api, path);
        const p = last.properties;
        if (!p) return false;
        const { steady, current, ...counts } = want;
        for (const [k, v] of Object.entries(counts))
          if (p.nodeStateCounts[k as keyof typeof counts] !== v) return false;
        if (current !== undefined && p.currentNodeCount !== current) return false;
        if (steady && p.allocationState !== 'steady') return false;
        return last;
      },
      timeoutMs,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last?.properties)}`);
  }
}

export function computeClient(stack: TestStack): ComputeManagementClient {
  const endpoint = stack.descriptor.compute?.endpoint;
  if (!endpoint) throw new Error('the stack runs no compute emulator');
  return createComputeClient({
    endpoint,
    subscriptionId: stack.descriptor.subscriptionId,
    resourceGroup: stack.descriptor.resourceGroup,
    credential: localStaticCredential(),
  });
}

/** The nodes the API reports for a cluster (listRemoteLoginInformation). */
export async function remoteLogins(api: BatchAiApi, path: string) {
  const r = await api.call<{ value: Array<{ nodeId: string; ipAddress: string; port: number }> }>(
    'POST',
    `${path}/listRemoteLoginInformation`,
  );
  if (r.status !== 200) throw new Error(`listRemoteLoginInformation: ${r.status} ${r.text}`);
  return r.body.value;
}

/** The compute emulator's own view of VMs (its local admin route): names and agent process ids. */
export interface EmulatorVm {
  name: string;
  scaleSet: string;
  instanceId: string;
  pid: number | null;
  powerState: string;
}

export async function emulatorVms(stack: TestStack): Promise<EmulatorVm[]> {
  const endpoint = stack.descriptor.compute!.endpoint.replace(/\/+$/, '');
  const r = await fetch(`${endpoint}/admin/vms`);
  if (!r.ok) throw new Error(`GET /admin/vms: ${r.status}`);
  const body = (await r.json()) as { value?: unknown[] } | unknown[];
  return (Array.isArray(body) ? body : (body.value ?? [])) as EmulatorVm[];
}

export const isAlive = (pid: number | null | undefined): boolean => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
