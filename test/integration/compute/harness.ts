// Test harness for the compute emulator: the emulator as a real child process (the way the stack supervisor runs
// it), driven through the real @azure/arm-compute client, with the VM workload fixture as each VM's program and
// (optionally) a real Event Grid emulator delivering its events to a webhook receiver.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ComputeManagementClient, type VirtualMachineScaleSet } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import { freePort } from '../../../local/stack/ports.js';
import { renderAgentBootstrap } from '../../../shared/domain/agent-bootstrap.js';
import { waitFor as waitForSignal } from '../../support/wait-for.js';

/** waitFor with a generous default: VM boots are Node start-ups, slow on a loaded 2-core CI machine. */
export const waitFor = <T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> => waitForSignal(what, probe, timeoutMs);

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const computeMain = fileURLToPath(new URL('../../../local/compute/main.js', import.meta.url));
/** The VM program of these tests (see its header for why it is not the real agent). */
export const WORKLOAD = join(repoRoot, 'test/fixtures/vm-workload.mjs');
export const SUB = '11111111-2222-3333-4444-555555555555';
export const RG = 'rg-compute';
export const LOCATION = 'local';
/** An Azurite-shaped connection string: the workload only checks that it is passed on. */
export const STORAGE =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;';

export interface ComputeProcess {
  port: number;
  endpoint: string;
  dataDir: string;
  child: ChildProcess;
  output: string[];
  /** SIGTERM and wait for the exit. */
  stop: () => Promise<number | null>;
  /** SIGKILL: the emulator gets no chance to stop its VMs. */
  kill9: () => Promise<void>;
}

export async function startCompute(o: {
  dataDir: string;
  port?: number;
  coreQuota?: number;
  pageSize?: number;
  bootDelayMs?: number;
  evictionNoticeMs?: number;
  eventGrid?: { endpoint: string; key: string };
}): Promise<ComputeProcess> {
  const port = o.port ?? (await freePort());
  const args = [
    computeMain,
    '--port',
    String(port),
    '--data-dir',
    o.dataDir,
    '--agent-script',
    WORKLOAD,
    '--stop-grace-ms',
    '3000',
    ...(o.coreQuota !== undefined ? ['--core-quota', String(o.coreQuota)] : []),
    ...(o.pageSize !== undefined ? ['--page-size', String(o.pageSize)] : []),
    ...(o.bootDelayMs !== undefined ? ['--boot-delay-ms', String(o.bootDelayMs)] : []),
    ...(o.evictionNoticeMs !== undefined ? ['--eviction-notice-ms', String(o.evictionNoticeMs)] : []),
    ...(o.eventGrid ? ['--eventgrid-endpoint', o.eventGrid.endpoint] : []),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, AzureWebJobsStorage: STORAGE, EVENTGRID_TOPIC_KEY: o.eventGrid?.key ?? '' },
    // The IPC channel is the lifeline: the emulator (and its VMs) exit if this test process dies.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output: string[] = [];
  const capture = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  const exited = once(child, 'exit') as Promise<[number | null]>;
  try {
    await waitFor(
      'compute emulator /health',
      async () => {
        if (child.exitCode !== null)
          throw new Error(`compute emulator exited with ${child.exitCode}:\n${output.join('\n')}`);
        try {
          return (await fetch(`http://127.0.0.1:${port}/health`)).status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    dataDir: o.dataDir,
    child,
    output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const [code] = await exited;
      return code;
    },
    kill9: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

const staticToken: TokenCredential = {
  getToken: async () => ({ token: 'any-token-will-do', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/**
 * The real ComputeManagementClient pointed at the emulator. The SDK refuses to send a bearer token over plain
 * http, so (as the app's adapter does for the loopback emulator) its bearer policy is replaced by one that sets
 * the same header.
 */
export function computeClient(endpoint: string): ComputeManagementClient {
  const client = new ComputeManagementClient(staticToken, SUB, {
    endpoint,
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
  });
  client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  client.pipeline.addPolicy({
    name: 'staticBearer',
    sendRequest: async (request, next) => {
      const token = await staticToken.getToken('https://management.azure.com/.default');
      request.headers.set('authorization', `Bearer ${token?.token}`);
      return next(request);
    },
  });
  return client;
}

/** Poll every few ms: the emulator's Retry-After is 0, so the SDK uses this interval. */
export const FAST = { updateIntervalInMs: 20 };

export function customDataFor(scaleSetName: string): string {
  return renderAgentBootstrap(
    {
      v: 1,
      role: 'clusterNode',
      resourceId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.BatchAI/workspaces/w/clusters/${scaleSetName}`,
      scaleSetName,
      queueEndpoint: 'http://127.0.0.1:1/devstoreaccount1',
      blobEndpoint: 'http://127.0.0.1:1/devstoreaccount1',
      heartbeatIntervalMs: 5000,
      mountRoot: 'mnt/batch/tasks/shared/LS_root/mounts',
    },
    'https://example.invalid/agent.tgz',
  );
}

export function scaleSetBody(o: {
  name: string;
  vmSize?: string;
  capacity: number;
  spot?: 'Delete' | 'Deallocate';
  customData?: string;
}): VirtualMachineScaleSet {
  return {
    location: LOCATION,
    sku: { name: o.vmSize ?? 'Standard_D2_v2', tier: 'Standard', capacity: o.capacity },
    upgradePolicy: { mode: 'Manual' },
    virtualMachineProfile: {
      osProfile: {
        computerNamePrefix: o.name,
        adminUsername: 'batchai',
        adminPassword: 'Secret-Passw0rd!',
        customData: o.customData ?? customDataFor(o.name),
      },
      storageProfile: {
        imageReference: { publisher: 'Canonical', offer: 'UbuntuServer', sku: '16.04-LTS', version: 'latest' },
      },
      ...(o.spot ? { priority: 'Spot', evictionPolicy: o.spot, billingProfile: { maxPrice: -1 } } : {}),
    },
  };
}

export interface AdminVm {
  scaleSet: string;
  instanceId: string;
  name: string;
  vmId: string;
  provisioningState: string;
  powerState: string;
  availability: string;
  pid: number | null;
  frozen: boolean;
  port: number;
  disk: string;
}

export async function adminVms(endpoint: string, scaleSet?: string): Promise<AdminVm[]> {
  const response = await fetch(`${endpoint}/admin/vms`);
  const { value } = (await response.json()) as { value: AdminVm[] };
  return scaleSet ? value.filter((v) => v.scaleSet === scaleSet) : value;
}

export async function fault(endpoint: string, scaleSet: string, instanceId: string, kind: string): Promise<Response> {
  return fetch(`${endpoint}/admin/vms/${scaleSet}/${instanceId}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind }),
  });
}

/** A process that exists and is not a zombie; its state letter from /proc (R, S, T for stopped, …). */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X' ? undefined : state;
  } catch {
    return undefined;
  }
}

/** Every live process whose command line mentions `needle` (e.g. a data dir): what "no VM left" checks. */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle) && processState(Number(entry))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export function bootsOf(disk: string): { pid: number; vmId: string; name: string; scaleSetName: string }[] {
  try {
    return readFileSync(join(disk, 'var/lib/workload/boots.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/** Every event delivered to a receiver path, flattened (Event Grid may batch). */
export function delivered(bodies: string[]): DeliveredEvent[] {
  return bodies.flatMap((b) => {
    const parsed = JSON.parse(b) as unknown;
    return (Array.isArray(parsed) ? parsed : [parsed]) as DeliveredEvent[];
  });
}

export interface DeliveredEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  dataVersion: string;
  metadataVersion: string;
  data: Record<string, unknown> & {
    operationName?: string;
    status?: string;
    resourceInfo?: { type: string; properties: Record<string, unknown> };
  };
}
