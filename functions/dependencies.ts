import { randomUUID } from 'node:crypto';
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { DurableClient } from 'durable-functions';
import { durableJobSignals, durableLifecycles } from '../orchestrations/lifecycles.js';
import type { ApiDeps } from '../shared/api/api-deps.js';
import { createBearerTokenValidator } from '../shared/auth/bearer-tokens.js';
import {
  type FunctionKeySource,
  KeysFileFunctionKeys,
  KeyVaultFunctionKeys,
  NO_FUNCTION_KEYS,
} from '../shared/auth/function-keys.js';
import type { ComputeDeps } from '../shared/clusters/reconcile-compute.js';
import { ArmScaleSets, localStaticCredential } from '../shared/compute/arm-scale-sets.js';
import { loadSettings, type Settings } from '../shared/config/settings.js';
import { ensureContainers } from '../shared/cosmos/containers.js';
import { CosmosClusterDemand } from '../shared/cosmos/cosmos-cluster-demand.js';
import { CosmosNodeStore } from '../shared/cosmos/cosmos-node-store.js';
import { CosmosOperationStore } from '../shared/cosmos/cosmos-operation-store.js';
import { CosmosResourceStore } from '../shared/cosmos/cosmos-resource-store.js';
import { CosmosRoleAssignmentStore } from '../shared/cosmos/cosmos-role-assignment-store.js';
import { CosmosScheduleStore, ensureSchedulesContainer } from '../shared/cosmos/cosmos-schedule-store.js';
import { createCosmosClient } from '../shared/cosmos/create-cosmos-client.js';
import type { JobRunDeps } from '../shared/jobs/job-run-deps.js';
import { releaseClusterNodes } from '../shared/jobs/release-cluster-nodes.js';
import type { AgentEventDeps } from '../shared/nodes/apply-agent-event.js';
import { QueueNodeCommands } from '../shared/nodes/node-commands.js';
import type { MountEndpoints } from '../shared/nodes/resolve-node-setup.js';
import { DownloadSigner } from '../shared/outputs/download-links.js';
import { LocationOutputFileLister } from '../shared/outputs/location-output-files.js';
import { loadSecretsKeys } from '../shared/secrets/load-secrets-keys.js';
import { secretRedactor } from '../shared/secrets/redactor.js';
import { SecretBox } from '../shared/secrets/secret-box.js';
import type { AuthServices } from './http/authorize.js';

// The one place where the app's adapters are built and wired. Settings are read once, at the first use,
// and a bad setting fails every trigger with a message naming it.

/** When this app instance started: node silence (missed heartbeats) is counted from here at the earliest. */
const STARTED_AT = new Date();

export interface AppServices {
  settings: Settings;
  base: Omit<ApiDeps, 'lifecycles'>;
  blobs: BlobServiceClient;
  queues: QueueServiceClient;
  auth: AuthServices;
  /** What the cluster and file-server lifecycles act with. */
  compute: ComputeDeps;
  /** What agent events are applied with (the lifecycles come with each invocation's Durable client). */
  agentEvents: Omit<AgentEventDeps, 'lifecycles'>;
  /** What job lifecycles and schedulers act with (the signals come with each invocation's Durable client). */
  jobs: Omit<JobRunDeps, 'signals'>;
}

function functionKeySource(settings: Settings): FunctionKeySource {
  const keys = settings.auth.functionKeys;
  if (keys.kind === 'file') return new KeysFileFunctionKeys(keys.path);
  if (keys.kind === 'keyVault') return new KeyVaultFunctionKeys(keys.vaultUri);
  return NO_FUNCTION_KEYS;
}

let services: Promise<AppServices> | undefined;

async function build(): Promise<AppServices> {
  const settings = loadSettings();
  const cosmos = createCosmosClient(settings.cosmos);
  const { resources, operations, roleAssignments, nodes } = await ensureContainers(cosmos, settings.cosmos.database);
  const schedules = new CosmosScheduleStore(await ensureSchedulesContainer(cosmos.database(settings.cosmos.database)));
  const storage = settings.storage;
  const blobs =
    storage.kind === 'connectionString'
      ? BlobServiceClient.fromConnectionString(storage.connectionString)
      : new BlobServiceClient(storage.blobEndpoint, new DefaultAzureCredential());
  const queues =
    storage.kind === 'connectionString'
      ? QueueServiceClient.fromConnectionString(storage.connectionString)
      : new QueueServiceClient(storage.queueEndpoint, new DefaultAzureCredential());
  const store = new CosmosResourceStore(resources);
  const operationStore = new CosmosOperationStore(operations);
  const secretsKeys = await loadSecretsKeys(settings.secretsKeys, () => new DefaultAzureCredential());
  const secrets = new SecretBox(secretsKeys, (plain) => secretRedactor.remember(plain));
  const base = {
    store,
    operations: operationStore,
    secrets,
    // Outputs are listed where the job wrote them: the blob container, share or export behind the directory.
    outputFiles: new LocationOutputFileLister({
      ...(settings.localNetworkRoot ? { networkRoot: settings.localNetworkRoot } : {}),
      local: settings.mode === 'local',
      blobEndpointFor: (account) =>
        settings.mode === 'local' ? blobs.url : `https://${account}.blob.core.windows.net/`,
      // Links are short-lived: signing with the current key only is enough (a rotation expires older links).
      signer: new DownloadSigner(secretsKeys[0]!),
      now: () => new Date(),
    }),
    nodes: new CosmosNodeStore(nodes),
    now: () => new Date(),
    newId: randomUUID,
  };
  const commands = new QueueNodeCommands(queues);
  const c = settings.compute;
  const compute: ComputeDeps = {
    ...base,
    scaleSets: new ArmScaleSets({
      endpoint: c.armEndpoint,
      subscriptionId: c.subscriptionId,
      resourceGroup: c.resourceGroup,
      // Locally the compute emulator accepts any bearer token; on Azure the app's managed identity.
      ...(settings.mode === 'local' ? { credential: localStaticCredential() } : {}),
      pollIntervalMs: c.pollIntervalMs,
      ...(c.caCertPath ? { caCertPath: c.caCertPath } : {}),
    }),
    commands,
    demand: new CosmosClusterDemand(resources),
    scaleSetSettings: {
      location: c.location,
      ...(c.nodeIdentityId ? { identityResourceId: c.nodeIdentityId } : {}),
      ...(c.nodeIdentityClientId ? { identityClientId: c.nodeIdentityClientId } : {}),
      agentPackageUrl: c.agentPackageUrl,
      queueEndpoint: queues.url,
      blobEndpoint: blobs.url,
      heartbeatIntervalMs: settings.nodes.heartbeatIntervalMs,
      mountRoot: settings.nodes.mountRoot,
    },
    idleGraceMs: settings.nodes.idleGraceMs,
    heartbeats: { lostAfterMs: settings.nodes.lostAfterMs, watchingSince: STARTED_AT },
  };
  // Locally every storage account a mount names is Azurite's one account; on Azure, the account's own endpoint.
  const endpoints: MountEndpoints = {
    blobEndpointFor: (account) => (settings.mode === 'local' ? blobs.url : `https://${account}.blob.core.windows.net/`),
  };
  return {
    settings,
    blobs,
    queues,
    auth: {
      settings: { auth: settings.auth, subscriptionId: settings.compute.subscriptionId },
      bearer: createBearerTokenValidator(settings.auth),
      functionKeys: functionKeySource(settings),
      roleAssignments: new CosmosRoleAssignmentStore(roleAssignments),
      store,
      operations: operationStore,
    },
    base,
    compute,
    agentEvents: { ...base, commands, endpoints },
    jobs: {
      ...base,
      schedules,
      commands,
      endpoints,
      ...(settings.infrastructureRetries ? { retries: settings.infrastructureRetries } : {}),
    },
  };
}

export function appServices(): Promise<AppServices> {
  services ??= build().catch((err) => {
    services = undefined; // let the next invocation try again (e.g. Cosmos was still starting)
    throw err;
  });
  return services;
}

/** What the job lifecycles and cluster schedulers run with; signals go through this invocation's Durable client. */
export async function jobRunDeps(client: DurableClient): Promise<JobRunDeps> {
  const { jobs, base } = await appServices();
  return { ...jobs, signals: durableJobSignals(client, base) };
}

/**
 * The cluster lifecycle's deps with the nodeDeallocationOption hook, which tells the jobs on released nodes, and the
 * scheduler's wake-up for nodes given up (so a job on a node lost to missed heartbeats is requeued at once).
 */
export async function computeDeps(client: DurableClient): Promise<ComputeDeps> {
  const { compute, jobs, base } = await appServices();
  const signals = durableJobSignals(client, base);
  return {
    ...compute,
    releaseNodes: (request) => releaseClusterNodes({ schedules: jobs.schedules, nodes: jobs.nodes, signals }, request),
    nodesLeaving: ({ resourceId }) => signals.scheduleChanged(resourceId),
  };
}

/** Per-invocation dependencies: the Durable client comes with each invocation. */
export async function apiDeps(client: DurableClient): Promise<ApiDeps & { settings: Settings }> {
  const { base, settings } = await appServices();
  return { ...base, settings, lifecycles: durableLifecycles(client, base) };
}
