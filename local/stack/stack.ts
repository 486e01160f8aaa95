import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { azuriteService, storageEndpoints } from '../azurite/service.js';
import { cosmosCertPath, cosmosService, EMULATOR_KEY } from '../cosmos/service.js';
import { type StackDescriptor, writeDescriptor } from './descriptor.js';
import type { PortPlan } from './ports.js';
import { type ServiceSpec, Supervisor } from './supervisor.js';

// The ids the local stack pretends to run under. Fixed so that resource ids are stable across restarts.
export const LOCAL_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
export const LOCAL_RESOURCE_GROUP = 'batchai-local';
export const LOCAL_LOCATION = 'local';
export const COSMOS_DATABASE = 'batchai';

export type ServiceName = 'azurite' | 'cosmos';
export const ALL_SERVICES: readonly ServiceName[] = ['azurite', 'cosmos'];

export interface StackOptions {
  dataDir: string;
  ports: PortPlan;
  services?: readonly ServiceName[];
  /** Fold the Cosmos journal into a snapshot after this many writes (tests use a small number). */
  cosmosCompactAfter?: number;
  onLog?: (message: string) => void;
}

export interface RunningStack {
  descriptor: StackDescriptor;
  supervisor: Supervisor;
  stop(): Promise<void>;
}

/** Everything a client of the stack needs, derived from the data dir and the port plan alone. */
export function describeStack(dataDir: string, ports: PortPlan, services: readonly ServiceName[]): StackDescriptor {
  const storage = storageEndpoints(ports);
  const urls: StackDescriptor['services'] = {};
  if (services.includes('azurite')) {
    urls['azurite-blob'] = { url: storage.blobEndpoint, port: ports.blob };
    urls['azurite-queue'] = { url: storage.queueEndpoint, port: ports.queue };
    urls['azurite-table'] = { url: storage.tableEndpoint, port: ports.table };
  }
  const cosmosEndpoint = `https://127.0.0.1:${ports.cosmos}/`;
  if (services.includes('cosmos')) urls['cosmos'] = { url: cosmosEndpoint, port: ports.cosmos };
  return {
    version: 1,
    dataDir,
    startedAt: new Date().toISOString(),
    pid: process.pid,
    subscriptionId: LOCAL_SUBSCRIPTION_ID,
    resourceGroup: LOCAL_RESOURCE_GROUP,
    location: LOCAL_LOCATION,
    services: urls,
    storage,
    cosmos: {
      endpoint: cosmosEndpoint,
      key: EMULATOR_KEY,
      database: COSMOS_DATABASE,
      caCertPath: cosmosCertPath(dataDir),
    },
  };
}

export function stackServices(
  dataDir: string,
  ports: PortPlan,
  services: readonly ServiceName[],
  tuning: { cosmosCompactAfter?: number } = {},
): ServiceSpec[] {
  const specs: ServiceSpec[] = [];
  if (services.includes('azurite')) specs.push(azuriteService({ dataDir, ports }));
  if (services.includes('cosmos'))
    specs.push(cosmosService({ dataDir, port: ports.cosmos, compactAfter: tuning.cosmosCompactAfter }));
  return specs;
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const services = options.services ?? ALL_SERVICES;
  const supervisor = new Supervisor(resolve(dataDir, 'logs'), { onLog: options.onLog });
  await supervisor.start(
    stackServices(dataDir, options.ports, services, { cosmosCompactAfter: options.cosmosCompactAfter }),
  );
  const descriptor = describeStack(dataDir, options.ports, services);
  await writeDescriptor(descriptor);
  return { descriptor, supervisor, stop: () => supervisor.stop() };
}
