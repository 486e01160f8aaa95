import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localStackAppSettings } from '../../shared/config/settings.js';
import { azuriteService, storageEndpoints } from '../azurite/service.js';
import { computeDataDir, computeEndpoint, computeService } from '../compute/service.js';
import { cosmosCertPath, cosmosService, EMULATOR_KEY } from '../cosmos/service.js';
import {
  eventGridService,
  eventGridTopicEndpoint,
  loadOrCreateTopicKey,
  writeEventGridConfig,
} from '../eventgrid/service.js';
import { tokenIssuerService } from '../token-issuer/service.js';
import {
  DEFAULT_PRINCIPAL_NAME,
  issuerUrl,
  LOCAL_AUDIENCE,
  LOCAL_TENANT_ID,
  loadOrCreateSigningKey,
  mintToken,
  principalIdOf,
} from '../token-issuer/signing-key.js';
import { eventSubscriptionsFor, type FunctionMetadata } from './app-event-subscriptions.js';
import { type StackDescriptor, writeDescriptor } from './descriptor.js';
import { functionsHostService, hostKeysFile, readHostKeys } from './functions-host-service.js';
import { narrowToOwner, ownerOnlyFromNowOn } from './owner-only.js';
import type { PortPlan } from './ports.js';
import { loadOrCreateSecretsKeys } from './secrets-keys.js';
import { type ServiceSpec, Supervisor } from './supervisor.js';

// The ids the local stack pretends to run under. Fixed so that resource ids are stable across restarts.
export const LOCAL_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
export const LOCAL_RESOURCE_GROUP = 'batchai-local';
export const LOCAL_LOCATION = 'local';
export const COSMOS_DATABASE = 'batchai';

/** This repository: the app `npm start` runs (package.json main → dist/functions/index.js). */
export const DEFAULT_APP_DIR = fileURLToPath(new URL('../../../', import.meta.url));

export type ServiceName = 'azurite' | 'cosmos' | 'compute' | 'functions' | 'eventgrid' | 'issuer';
export const ALL_SERVICES: readonly ServiceName[] = [
  'azurite',
  'cosmos',
  'compute',
  'functions',
  'eventgrid',
  'issuer',
];

export interface StackOptions {
  dataDir: string;
  ports: PortPlan;
  services?: readonly ServiceName[];
  /** The Functions app to run (default: this repository). */
  appDir?: string;
  /** Fold the Cosmos journal into a snapshot after this many writes (tests use a small number). */
  cosmosCompactAfter?: number;
  /** Scale Event Grid's retry schedule (tests use e.g. 0.001). */
  eventGridRetryTimeScale?: number;
  /** The program each compute-emulator VM runs (default: this repository's dist/agent/main.js). */
  agentScript?: string;
  /** Time between a VM's creation and its agent's start (default 0). */
  bootDelayMs?: number;
  /** Regional vCPU quota of the compute emulator (default 200). */
  coreQuota?: number;
  /** Time between a Spot eviction's Preempt notice and the VM's shutdown (default 0). */
  evictionNoticeMs?: number;
  /** Extra app settings for the Functions host, over the stack's own (tests tune e.g. BATCHAI_SUBMISSION_RATE). */
  appSettings?: Record<string, string>;
  onLog?: (message: string) => void;
}

export interface RunningStack {
  descriptor: StackDescriptor;
  supervisor: Supervisor;
  stop(): Promise<void>;
}

/** Everything a client of the stack needs that follows from the data dir and the port plan alone. */
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
  if (services.includes('functions'))
    urls['functions'] = { url: `http://127.0.0.1:${ports.functions}/api`, port: ports.functions };
  if (services.includes('eventgrid'))
    urls['eventgrid'] = { url: eventGridTopicEndpoint(ports.eventgrid), port: ports.eventgrid };
  if (services.includes('compute')) urls['compute'] = { url: computeEndpoint(ports.compute), port: ports.compute };
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
    ...(services.includes('compute') ? { compute: { endpoint: computeEndpoint(ports.compute) } } : {}),
  };
}

/** The issuer's URL and a fresh token for the stack's default principal (minted from the key file). */
async function localIssuer(dataDir: string, port: number) {
  const key = await loadOrCreateSigningKey(dataDir);
  const url = issuerUrl(port);
  const owner = principalIdOf(DEFAULT_PRINCIPAL_NAME);
  const token = await mintToken(key, { issuer: url, principal: DEFAULT_PRINCIPAL_NAME });
  return {
    url,
    owner,
    descriptor: {
      issuer: url,
      audience: LOCAL_AUDIENCE,
      tenantId: LOCAL_TENANT_ID,
      principalName: DEFAULT_PRINCIPAL_NAME,
      principalId: owner,
      token,
    },
  };
}

/** Keeps `auth.token` in stack.json valid while the stack runs (tokens last 24 h; renewed every 12 h). */
function renewDescriptorToken(descriptor: StackDescriptor, dataDir: string): () => void {
  const timer = setInterval(
    () => {
      void (async () => {
        const key = await loadOrCreateSigningKey(dataDir);
        descriptor.auth!.token = await mintToken(key, {
          issuer: descriptor.auth!.issuer,
          principal: DEFAULT_PRINCIPAL_NAME,
        });
        await writeDescriptor(descriptor);
      })().catch(() => {
        // the next interval tries again; the previous token is valid for 12 more hours
      });
    },
    12 * 3600 * 1000,
  );
  timer.unref();
  return () => clearInterval(timer);
}

async function fetchFunctions(baseUrl: string, masterKey: string): Promise<FunctionMetadata[]> {
  const response = await fetch(`${baseUrl}/admin/functions`, { headers: { 'x-functions-key': masterKey } });
  if (!response.ok) throw new Error(`the functions host listed no functions: HTTP ${response.status}`);
  return (await response.json()) as FunctionMetadata[];
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const dataDir = resolve(options.dataDir);
  ownerOnlyFromNowOn();
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await narrowToOwner(dataDir);
  const services = options.services ?? ALL_SERVICES;
  const { ports } = options;
  const descriptor = describeStack(dataDir, ports, services);
  const supervisor = new Supervisor(resolve(dataDir, 'logs'), { onLog: options.onLog });
  const has = (name: ServiceName) => services.includes(name);
  try {
    // Phase 1: storage and database, then the app on top of them.
    const first: ServiceSpec[] = [];
    if (has('azurite')) first.push(azuriteService({ dataDir, ports }));
    if (has('cosmos'))
      first.push(cosmosService({ dataDir, port: ports.cosmos, compactAfter: options.cosmosCompactAfter }));
    if (has('compute'))
      first.push(
        computeService({
          dataDir,
          port: ports.compute,
          storageConnectionString: descriptor.storage.connectionString,
          agentScript: options.agentScript,
          bootDelayMs: options.bootDelayMs,
          coreQuota: options.coreQuota,
          evictionNoticeMs: options.evictionNoticeMs,
          // Event Grid starts after the Functions host; its endpoint and key are known now, and the compute
          // emulator's outbox holds events until it answers.
          ...(has('eventgrid')
            ? {
                eventGrid: {
                  endpoint: eventGridTopicEndpoint(ports.eventgrid),
                  topicKey: await loadOrCreateTopicKey(dataDir),
                },
              }
            : {}),
          after: has('azurite') ? ['azurite'] : [],
        }),
      );
    const issuer = has('issuer') ? await localIssuer(dataDir, ports.issuer) : undefined;
    if (issuer) {
      first.push(tokenIssuerService({ dataDir, port: ports.issuer }));
      descriptor.services['issuer'] = { url: issuer.url, port: ports.issuer };
    }
    if (has('functions')) {
      const appDir = resolve(options.appDir ?? DEFAULT_APP_DIR);
      first.push(
        functionsHostService({
          dataDir,
          port: ports.functions,
          appDir,
          appSettings: {
            ...localStackAppSettings({
              ...descriptor,
              secretsKey: await loadOrCreateSecretsKeys(dataDir),
              publicBaseUrl: `http://127.0.0.1:${ports.functions}/api`,
              functionKeysFile: hostKeysFile(dataDir),
              ...(issuer
                ? { issuer: { url: issuer.url, audience: LOCAL_AUDIENCE, ownerPrincipalId: issuer.owner } }
                : {}),
            }),
            // Shares and file server exports live in the compute emulator's network directory: outputs are listed
            // and served from there.
            ...(has('compute') ? { BATCHAI_LOCAL_NETWORK_ROOT: join(computeDataDir(dataDir), 'network') } : {}),
            ...options.appSettings,
          },
          after: first.map((s) => s.name),
        }),
      );
    }
    if (issuer) descriptor.auth = issuer.descriptor;
    await supervisor.start(first);

    const functionsBase = `http://127.0.0.1:${ports.functions}`;
    let functions: FunctionMetadata[] = [];
    const keys = has('functions') ? await readHostKeys(dataDir) : undefined;
    if (keys) {
      functions = await fetchFunctions(functionsBase, keys.masterKey);
      descriptor.functions = {
        apiBaseUrl: `${functionsBase}/api`,
        durableWebhookBaseUrl: `${functionsBase}/runtime/webhooks/durabletask`,
        masterKey: keys.masterKey,
        appDir: resolve(options.appDir ?? DEFAULT_APP_DIR),
      };
    }

    // Phase 2: Event Grid, subscribed to what the app's functions listen to.
    if (has('eventgrid')) {
      const configPath = await writeEventGridConfig(dataDir, {
        subscriptionId: LOCAL_SUBSCRIPTION_ID,
        resourceGroup: LOCAL_RESOURCE_GROUP,
        ...(options.eventGridRetryTimeScale ? { retryTimeScale: options.eventGridRetryTimeScale } : {}),
        subscriptions: eventSubscriptionsFor(functions, { baseUrl: functionsBase, systemKeys: keys?.systemKeys ?? {} }),
      });
      const topicKey = await loadOrCreateTopicKey(dataDir);
      await supervisor.start([
        eventGridService({
          dataDir,
          port: ports.eventgrid,
          configPath,
          storageConnectionString: descriptor.storage.connectionString,
          topicKey,
          after: has('azurite') ? ['azurite'] : [],
        }),
      ]);
      descriptor.eventGrid = { endpoint: eventGridTopicEndpoint(ports.eventgrid), topicKey };
    }
  } catch (err) {
    await supervisor.stop();
    throw err;
  }
  await writeDescriptor(descriptor);
  const stopRenewing = descriptor.auth ? renewDescriptorToken(descriptor, dataDir) : () => {};
  return {
    descriptor,
    supervisor,
    stop: () => {
      stopRenewing();
      return supervisor.stop();
    },
  };
}
