import { z } from 'zod';
import { DEFAULT_INFRASTRUCTURE_RETRIES, type InfrastructureRetrySettings } from '../domain/retry-policy.js';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME, COSMOS_EMULATOR_KEY } from './well-known-emulator-credentials.js';

// The app's one view of its environment (Azure app settings, or what the local stack passes in).
// Everything is read and checked once at start, so a missing or malformed setting fails there with
// the setting's name instead of deep inside a request.

export interface Settings {
  mode: 'local' | 'azure';
  storage:
    | { kind: 'connectionString'; connectionString: string }
    | { kind: 'identity'; accountName: string; blobEndpoint: string; queueEndpoint: string };
  cosmos: { endpoint: string; key?: string; database: string; caCertPath?: string };
  compute: {
    armEndpoint: string;
    subscriptionId: string;
    resourceGroup: string;
    location: string;
    /** CA to trust for a local https ARM endpoint (ARM_CA_CERT_PATH). */
    caCertPath?: string;
    /** Poll interval of ARM long-running operations (ARM's Retry-After wins when larger). */
    pollIntervalMs: number;
    /** User-assigned managed identity the VMs run as (ARM id and client id), on Azure. */
    nodeIdentityId?: string;
    nodeIdentityClientId?: string;
    /** Where cloud-init fetches the agent package from (a blob URL on Azure; the emulator ignores it). */
    agentPackageUrl: string;
  };
  nodes: {
    heartbeatIntervalMs: number;
    /** Autoscale removes a node only after it has been idle this long. */
    idleGraceMs: number;
    /** A registered node not heard from for this long is lost (0: heartbeats are not a loss signal). */
    lostAfterMs: number;
    /** $AZ_BATCHAI_MOUNT_ROOT on the nodes (relative to the VM's disk locally). */
    mountRoot: string;
  };
  /**
   * The storage account that job files (blob manifests, recipes) get for Azure Files / blob mounts naming none, as
   * `az batchai job create` took it from its --storage-account-name/-key. BATCHAI_JOB_FILE_STORAGE, a connection
   * string with AccountName and AccountKey; locally Azurite's account by default; unset on Azure means such
   * mounts are rejected (giving job code the key of the app's own storage account would be unsafe).
   */
  jobFileStorage?: { name: string; key: string };
  /**
   * The keys that seal write-only values: a Key Vault secret on Azure (its enabled versions, newest seals), or keys
   * given directly (the local stack's key file; comma-separated, current first, older ones still open).
   */
  secretsKeys: { kind: 'keys'; keys: Buffer[] } | { kind: 'keyVault'; vaultUrl: string; secretName: string };
  /** Where `Location`, `Azure-AsyncOperation` and `nextLink` point (never the request's Host header). */
  publicBaseUrl?: string;
  /** Job submissions per principal: a burst, then this many per minute (429 with Retry-After beyond). */
  submissionRate?: { burst: number; perMinute: number };
  /**
   * Local stack only: the compute emulator's shared network directory (BATCHAI_LOCAL_NETWORK_ROOT), where Azure
   * Files shares and file server exports live, so listOutputFiles lists them and the app serves download links.
   */
  localNetworkRoot?: string;
  /**
   * Infrastructure failures other than preemption (host crash, node lost) requeued before a job fails, and the
   * back-off before each next attempt (BATCHAI_INFRA_RETRY_LIMIT, BATCHAI_INFRA_RETRY_BACKOFF_MS,
   * BATCHAI_INFRA_RETRY_MAX_BACKOFF_MS; docs/failures.md).
   */
  infrastructureRetries?: InfrastructureRetrySettings;
  auth: AuthSettings;
}

/** Who may call the API (see docs/auth.md). */
export interface AuthSettings {
  /** Accepted `iss` values of bearer tokens (AUTH_ISSUER, comma-separated); none: bearer tokens are refused. */
  issuers: string[];
  /** Accepted `aud` values (AUTH_AUDIENCE, comma-separated): the app registration's id and/or its App ID URI. */
  audiences: string[];
  /** AUTH_JWKS_URI; without it the keys are found through the first issuer's OIDC discovery document. */
  jwksUri?: string;
  /** BATCHAI_TRUST_APP_SERVICE_AUTH=true: the app sits behind App Service Authentication (x-ms-client-principal). */
  trustAppServiceAuth: boolean;
  /** BATCHAI_OWNER_PRINCIPAL_IDS: Owner of AZURE_SUBSCRIPTION_ID without an assignment (whoever deploys). */
  subscriptionOwners: string[];
  /** BATCHAI_SUBMISSION_PRINCIPAL_ID: who blob and queue submissions act as; unset: the function-key principal. */
  submissionPrincipalId?: string;
  /** Where the host's function keys are, so the app can check them itself (its API routes are anonymous to the host). */
  functionKeys: { kind: 'file'; path: string } | { kind: 'keyVault'; vaultUri: string } | { kind: 'none' };
}

export class SettingsError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`app setting ${setting}: ${problem}`);
    this.name = 'SettingsError';
  }
}

const LOCAL_DEFAULTS: Record<string, string> = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  COSMOS_ENDPOINT: 'https://127.0.0.1:8081/',
  COSMOS_KEY: COSMOS_EMULATOR_KEY,
  COSMOS_CA_CERT_PATH: '.local/cosmos/tls/cert.pem',
  ARM_ENDPOINT: 'http://127.0.0.1:10005/',
  AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
  BATCHAI_RESOURCE_GROUP: 'batchai-local',
  BATCHAI_LOCATION: 'local',
  BATCHAI_JOB_FILE_STORAGE: `AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY}`,
  ARM_POLL_INTERVAL_MS: '20',
  BATCHAI_AGENT_PACKAGE_URL: 'local://agent',
  BATCHAI_NODE_HEARTBEAT_MS: '5000',
};

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const SETTING_SCHEMAS: Record<string, z.ZodType<string>> = {
  COSMOS_ENDPOINT: httpUrl,
  ARM_ENDPOINT: httpUrl,
  AZURE_SUBSCRIPTION_ID: z.guid({ error: 'must be a subscription id (a GUID)' }),
  BATCHAI_RESOURCE_GROUP: z
    .string()
    .regex(/^[-\w._()]{1,90}$/, { error: 'must be a resource group name (1-90 of letters, digits, -_.())' }),
  BATCHAI_LOCATION: z.string().regex(/^[a-z0-9]+$/, { error: 'must be an Azure region name such as westus2' }),
  COSMOS_DATABASE: z.string().regex(/^[^/\\#?]{1,255}$/, { error: 'must be a Cosmos database id' }),
  BATCHAI_SECRETS_KEY: z
    .string()
    .refine((v) => v.split(',').every((k) => Buffer.from(k.trim(), 'base64').length === 32), {
      error: 'must be the base64 of 32 random bytes (or several, comma-separated, current first)',
    }),
  BATCHAI_SECRETS_KEY_VAULT_URL: z.url({ protocol: /^https$/, error: 'must be the https URL of a Key Vault' }),
  BATCHAI_SECRETS_KEY_NAME: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, { error: 'must be a Key Vault secret name' }),
  BATCHAI_PUBLIC_BASE_URL: httpUrl,
  BATCHAI_SUBMISSION_RATE: z.string().regex(/^\d{1,6}\/\d{1,6}$/, {
    error: 'must be <burst>/<per minute>, e.g. 60/120',
  }),
  BATCHAI_JOB_FILE_STORAGE: z
    .string()
    .refine((v) => /(^|;)AccountName=[^;]+/.test(v) && /(^|;)AccountKey=[^;]+/.test(v), {
      error: 'must be a connection string with AccountName=...;AccountKey=...',
    }),
  AUTH_JWKS_URI: httpUrl,
  BATCHAI_TRUST_APP_SERVICE_AUTH: z.enum(['true', 'false'], { error: 'must be true or false' }),
  ARM_POLL_INTERVAL_MS: z.string().regex(/^[1-9][0-9]{0,5}$/, { error: 'must be a number of milliseconds' }),
  BATCHAI_NODE_HEARTBEAT_MS: z
    .string()
    .regex(/^[1-9][0-9]{2,6}$/, { error: 'must be a number of milliseconds (≥ 100)' }),
  BATCHAI_AUTOSCALE_IDLE_GRACE_SECONDS: z.string().regex(/^[0-9]{1,6}$/, { error: 'must be a number of seconds' }),
  BATCHAI_NODE_LOST_AFTER_SECONDS: z.string().regex(/^[0-9]{1,6}$/, { error: 'must be a number of seconds' }),
  AzureWebJobsStorage: z.string().refine((v) => v === 'UseDevelopmentStorage=true' || /AccountName=[^;]+/.test(v), {
    error: 'must be a storage connection string (AccountName=...;AccountKey=...) or UseDevelopmentStorage=true',
  }),
};

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const explicitMode = env['BATCHAI_MODE'];
  if (explicitMode !== undefined && explicitMode !== 'local' && explicitMode !== 'azure') {
    throw new SettingsError('BATCHAI_MODE', `must be "local" or "azure", got "${explicitMode}"`);
  }
  // On Azure the platform sets WEBSITE_INSTANCE_ID; there, no local default may silently apply.
  const mode = (explicitMode ?? (env['WEBSITE_INSTANCE_ID'] ? 'azure' : 'local')) as Settings['mode'];

  const read = (name: string, options: { required?: boolean; fallback?: string } = {}): string | undefined => {
    const raw = env[name];
    const value = raw !== undefined && raw !== '' ? raw : mode === 'local' ? LOCAL_DEFAULTS[name] : undefined;
    const resolved = value ?? options.fallback;
    if (resolved === undefined) {
      if (options.required) throw new SettingsError(name, 'is required but not set');
      return undefined;
    }
    const schema = SETTING_SCHEMAS[name];
    const parsed = schema?.safeParse(resolved);
    if (parsed && !parsed.success) throw new SettingsError(name, parsed.error.issues[0]?.message ?? 'is malformed');
    return resolved;
  };

  const identityAccount = env['AzureWebJobsStorage__accountName'];
  const storage: Settings['storage'] =
    identityAccount && !env['AzureWebJobsStorage']
      ? {
          kind: 'identity',
          accountName: identityAccount,
          blobEndpoint: `https://${identityAccount}.blob.core.windows.net`,
          queueEndpoint: `https://${identityAccount}.queue.core.windows.net`,
        }
      : { kind: 'connectionString', connectionString: read('AzureWebJobsStorage', { required: true })! };

  const caCertPath = read('COSMOS_CA_CERT_PATH');
  const jobFileStorage = read('BATCHAI_JOB_FILE_STORAGE');
  const heartbeatIntervalMs = Number(read('BATCHAI_NODE_HEARTBEAT_MS', { fallback: '5000' }));
  return {
    mode,
    storage,
    cosmos: {
      endpoint: read('COSMOS_ENDPOINT', { required: true })!,
      // No key means managed identity (DefaultAzureCredential), the recommended setup on Azure.
      ...(read('COSMOS_KEY') ? { key: read('COSMOS_KEY')! } : {}),
      database: read('COSMOS_DATABASE', { fallback: 'batchai' })!,
      ...(caCertPath ? { caCertPath } : {}),
    },
    secretsKeys: secretsKeysSetting(read),
    ...submissionRateSetting(read('BATCHAI_SUBMISSION_RATE')),
    ...publicBaseUrlSetting(read('BATCHAI_PUBLIC_BASE_URL'), env['WEBSITE_HOSTNAME']),
    compute: {
      armEndpoint: read('ARM_ENDPOINT', { fallback: 'https://management.azure.com/' })!,
      subscriptionId: read('AZURE_SUBSCRIPTION_ID', { required: true })!,
      resourceGroup: read('BATCHAI_RESOURCE_GROUP', { required: true })!,
      location: read('BATCHAI_LOCATION', { required: true })!,
      ...(read('ARM_CA_CERT_PATH') ? { caCertPath: read('ARM_CA_CERT_PATH')! } : {}),
      pollIntervalMs: Number(read('ARM_POLL_INTERVAL_MS', { fallback: '2000' })),
      ...(read('BATCHAI_NODE_IDENTITY_ID') ? { nodeIdentityId: read('BATCHAI_NODE_IDENTITY_ID')! } : {}),
      ...(read('BATCHAI_NODE_IDENTITY_CLIENT_ID')
        ? { nodeIdentityClientId: read('BATCHAI_NODE_IDENTITY_CLIENT_ID')! }
        : {}),
      // On Azure the deployment uploads the agent package and sets this; without it VMs boot without an agent.
      agentPackageUrl: read('BATCHAI_AGENT_PACKAGE_URL', { fallback: '' })!,
    },
    nodes: {
      heartbeatIntervalMs,
      // Four missed heartbeats (20 s by default), and never less than 15 s: a node that went silent without any VM
      // event is recovered in well under a minute, while a queue that is slow for a few seconds is not a dead node.
      lostAfterMs:
        Number(
          read('BATCHAI_NODE_LOST_AFTER_SECONDS', {
            fallback: String(Math.max(15, Math.ceil((4 * heartbeatIntervalMs) / 1000))),
          }),
        ) * 1000,
      idleGraceMs: Number(read('BATCHAI_AUTOSCALE_IDLE_GRACE_SECONDS', { fallback: '300' })) * 1000,
      mountRoot: '/mnt/batch/tasks/shared/LS_root/mounts',
    },
    ...(jobFileStorage ? { jobFileStorage: accountOf(jobFileStorage) } : {}),
    ...(read('BATCHAI_LOCAL_NETWORK_ROOT') ? { localNetworkRoot: read('BATCHAI_LOCAL_NETWORK_ROOT')! } : {}),
    infrastructureRetries: {
      limit: wholeNumber(read, 'BATCHAI_INFRA_RETRY_LIMIT', DEFAULT_INFRASTRUCTURE_RETRIES.limit),
      backoffMs: wholeNumber(read, 'BATCHAI_INFRA_RETRY_BACKOFF_MS', DEFAULT_INFRASTRUCTURE_RETRIES.backoffMs),
      maxBackoffMs: wholeNumber(
        read,
        'BATCHAI_INFRA_RETRY_MAX_BACKOFF_MS',
        DEFAULT_INFRASTRUCTURE_RETRIES.maxBackoffMs,
      ),
    },
    auth: loadAuthSettings(env, read),
  };
}

function wholeNumber(read: (name: string) => string | undefined, name: string, fallback: number): number {
  const text = read(name);
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new SettingsError(name, 'must be a whole number (0 or more)');
  return value;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function loadAuthSettings(
  env: NodeJS.ProcessEnv,
  read: (name: string, options?: { fallback?: string }) => string | undefined,
): AuthSettings {
  const issuers = list(read('AUTH_ISSUER'));
  for (const issuer of issuers) {
    if (!httpUrl.safeParse(issuer).success)
      throw new SettingsError('AUTH_ISSUER', 'must be http(s) URLs, comma-separated');
  }
  const audiences = list(read('AUTH_AUDIENCE'));
  if (issuers.length > 0 && audiences.length === 0) {
    throw new SettingsError('AUTH_AUDIENCE', 'is required when AUTH_ISSUER is set (the app registration id or URI)');
  }
  const jwksUri = read('AUTH_JWKS_URI');
  const submissionPrincipalId = read('BATCHAI_SUBMISSION_PRINCIPAL_ID');
  const keysFile = read('BATCHAI_FUNCTION_KEYS_FILE');
  const vaultUri = env['AzureWebJobsSecretStorageKeyVaultUri'];
  const keyVault = (env['AzureWebJobsSecretStorageType'] ?? '').toLowerCase() === 'keyvault' && vaultUri;
  return {
    issuers,
    audiences,
    ...(jwksUri ? { jwksUri } : {}),
    trustAppServiceAuth: read('BATCHAI_TRUST_APP_SERVICE_AUTH') === 'true',
    subscriptionOwners: list(read('BATCHAI_OWNER_PRINCIPAL_IDS')),
    ...(submissionPrincipalId ? { submissionPrincipalId } : {}),
    functionKeys: keysFile
      ? { kind: 'file', path: keysFile }
      : keyVault
        ? { kind: 'keyVault', vaultUri: vaultUri! }
        : { kind: 'none' },
  };
}

function accountOf(connectionString: string): { name: string; key: string } {
  const part = (name: string) =>
    connectionString
      .split(';')
      .find((p) => p.startsWith(`${name}=`))
      ?.slice(name.length + 1) ?? '';
  return { name: part('AccountName'), key: part('AccountKey') };
}

/**
 * Where links point. Without the setting, on Azure the platform's own host name (WEBSITE_HOSTNAME, set by App
 * Service, not by callers) with the default route prefix.
 */
function publicBaseUrlSetting(configured: string | undefined, websiteHostname: string | undefined) {
  if (configured) return { publicBaseUrl: configured.replace(/\/+$/, '') };
  if (websiteHostname && /^[a-z0-9.-]+$/i.test(websiteHostname))
    return { publicBaseUrl: `https://${websiteHostname}/api` };
  return {};
}

function submissionRateSetting(value: string | undefined): Pick<Settings, 'submissionRate'> {
  if (value === undefined) return {};
  const [burst, perMinute] = value.split('/').map(Number) as [number, number];
  return { submissionRate: { burst, perMinute } };
}

function secretsKeysSetting(
  read: (name: string, options?: { required?: boolean; fallback?: string }) => string | undefined,
): Settings['secretsKeys'] {
  const vaultUrl = read('BATCHAI_SECRETS_KEY_VAULT_URL');
  if (vaultUrl) {
    return {
      kind: 'keyVault',
      vaultUrl,
      secretName: read('BATCHAI_SECRETS_KEY_NAME', { fallback: 'batchai-secrets-key' })!,
    };
  }
  const keys = read('BATCHAI_SECRETS_KEY', { required: true })!;
  return { kind: 'keys', keys: keys.split(',').map((k) => Buffer.from(k.trim(), 'base64')) };
}

/** The app settings that point the app at a running local stack (what the supervisor passes the host). */
export function localStackAppSettings(stack: {
  secretsKey: string;
  storage: { connectionString: string };
  cosmos: { endpoint: string; key: string; database: string; caCertPath: string };
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  compute?: { endpoint: string };
  /** The host's keys file: the app checks function keys itself (its API routes are anonymous to the host). */
  functionKeysFile?: string;
  /** The stack's token issuer: the app validates its tokens with the same code as Entra ID's on Azure. */
  issuer?: { url: string; audience: string; ownerPrincipalId: string };
  publicBaseUrl?: string;
}): Record<string, string> {
  return {
    BATCHAI_MODE: 'local',
    BATCHAI_SECRETS_KEY: stack.secretsKey,
    AzureWebJobsStorage: stack.storage.connectionString,
    COSMOS_ENDPOINT: stack.cosmos.endpoint,
    COSMOS_KEY: stack.cosmos.key,
    COSMOS_DATABASE: stack.cosmos.database,
    COSMOS_CA_CERT_PATH: stack.cosmos.caCertPath,
    AZURE_SUBSCRIPTION_ID: stack.subscriptionId,
    BATCHAI_RESOURCE_GROUP: stack.resourceGroup,
    BATCHAI_LOCATION: stack.location,
    ...(stack.compute ? { ARM_ENDPOINT: stack.compute.endpoint } : {}),
    ...(stack.functionKeysFile ? { BATCHAI_FUNCTION_KEYS_FILE: stack.functionKeysFile } : {}),
    ...(stack.issuer
      ? {
          AUTH_ISSUER: stack.issuer.url,
          AUTH_AUDIENCE: stack.issuer.audience,
          BATCHAI_OWNER_PRINCIPAL_IDS: stack.issuer.ownerPrincipalId,
          BATCHAI_SUBMISSION_PRINCIPAL_ID: stack.issuer.ownerPrincipalId,
        }
      : {}),
    ...(stack.publicBaseUrl ? { BATCHAI_PUBLIC_BASE_URL: stack.publicBaseUrl } : {}),
  };
}
