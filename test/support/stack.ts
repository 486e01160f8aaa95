import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CosmosClient } from '@azure/cosmos';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { storageEndpoints } from '../../local/azurite/service.js';
import type { StackDescriptor } from '../../local/stack/descriptor.js';
import { freePortPlan, PortInUseError } from '../../local/stack/ports.js';
import { type ServiceName, startStack } from '../../local/stack/stack.js';
import type { Supervisor } from '../../local/stack/supervisor.js';
import { createCosmosClient } from '../../shared/cosmos/create-cosmos-client.js';

export interface TestStack {
  descriptor: StackDescriptor;
  dataDir: string;
  supervisor: Supervisor;
  /** Stops the services; the data dir stays, so a test can start a new stack on it. */
  stop(): Promise<void>;
  /** Stops the services and deletes the data dir. */
  dispose(): Promise<void>;
}

/**
 * Starts an isolated stack for one test file: its own temporary data dir and free ports. When a test of
 * the file fails, the services' recent output is printed so the failure can be read without a rerun.
 */
export async function startTestStack(
  options: {
    services?: readonly ServiceName[];
    dataDir?: string;
    appDir?: string;
    cosmosCompactAfter?: number;
    eventGridRetryTimeScale?: number;
    /** The program each compute-emulator VM runs (default: the repository's built agent). */
    agentScript?: string;
    /** Compute emulator boot delay (default 0). */
    bootDelayMs?: number;
    coreQuota?: number;
    evictionNoticeMs?: number;
    /** Extra app settings for the Functions host. */
    appSettings?: Record<string, string>;
  } = {},
): Promise<TestStack> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'batchai-stack-')));
  const stack = await startWithFreshPorts({
    dataDir,
    services: options.services,
    ...(options.appDir ? { appDir: options.appDir } : {}),
    ...(options.cosmosCompactAfter ? { cosmosCompactAfter: options.cosmosCompactAfter } : {}),
    ...(options.eventGridRetryTimeScale ? { eventGridRetryTimeScale: options.eventGridRetryTimeScale } : {}),
    ...(options.agentScript ? { agentScript: options.agentScript } : {}),
    ...(options.bootDelayMs !== undefined ? { bootDelayMs: options.bootDelayMs } : {}),
    ...(options.coreQuota !== undefined ? { coreQuota: options.coreQuota } : {}),
    ...(options.evictionNoticeMs !== undefined ? { evictionNoticeMs: options.evictionNoticeMs } : {}),
    ...(options.appSettings ? { appSettings: options.appSettings } : {}),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stack.stop();
  };
  return {
    descriptor: stack.descriptor,
    dataDir,
    supervisor: stack.supervisor,
    stop,
    dispose: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Another stack (a parallel test file) may grab a port between our check and our use: try new ports then. */
async function startWithFreshPorts(options: Omit<Parameters<typeof startStack>[0], 'ports'>) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStack({ ...options, ports: await freePortPlan() });
    } catch (err) {
      const clash = err instanceof PortInUseError || /EADDRINUSE/.test(String((err as Error)?.message));
      if (!clash || attempt >= 4) throw err;
    }
  }
}

/** Runs a test body; if it fails, prints every service's recent output before rethrowing. */
export async function withServiceOutput<T>(stack: TestStack, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    for (const [service, output] of Object.entries(stack.supervisor.outputs())) {
      console.error(`--- recent output of ${service} ---\n${output || '(none)'}`);
    }
    throw err;
  }
}

/** A well-formed storage connection string whose endpoints refuse connections (port 1 on loopback). */
export const UNREACHABLE_STORAGE = storageEndpoints({ blob: 1, queue: 1, table: 1 }).connectionString;

export const blobClient = (d: StackDescriptor) => BlobServiceClient.fromConnectionString(d.storage.connectionString);
export const queueClient = (d: StackDescriptor) => QueueServiceClient.fromConnectionString(d.storage.connectionString);
export const cosmosClient = (d: StackDescriptor): CosmosClient =>
  createCosmosClient({
    endpoint: d.cosmos.endpoint,
    key: d.cosmos.key,
    database: d.cosmos.database,
    caCertPath: d.cosmos.caCertPath,
  });
