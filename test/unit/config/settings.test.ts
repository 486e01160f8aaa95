import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { loadSettings, localStackAppSettings, SettingsError } from '../../../shared/config/settings.js';

const BATCHAI_SECRETS_KEY = randomBytes(32).toString('base64');

test('local mode fills every endpoint with the local stack defaults', () => {
  const settings = loadSettings({ BATCHAI_SECRETS_KEY });
  assert.equal(settings.secretsKeys.kind, 'keys');
  assert.deepEqual(settings.secretsKeys.kind === 'keys' && settings.secretsKeys.keys.map((k) => k.length), [32]);
  assert.equal(settings.mode, 'local');
  assert.deepEqual(settings.storage, { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
  assert.equal(settings.cosmos.endpoint, 'https://127.0.0.1:8081/');
  assert.equal(settings.cosmos.database, 'batchai');
  assert.equal(settings.compute.subscriptionId, '00000000-0000-0000-0000-000000000000');
});

test('on Azure a missing required setting fails naming the setting', () => {
  assert.throws(
    () => loadSettings({ WEBSITE_INSTANCE_ID: 'abc' }),
    (err: unknown) =>
      err instanceof SettingsError && err.setting === 'AzureWebJobsStorage' && /required/.test(err.message),
  );
  assert.throws(
    () => loadSettings({ BATCHAI_MODE: 'azure', AzureWebJobsStorage: 'AccountName=a;AccountKey=b' }),
    (err: unknown) => err instanceof SettingsError && err.setting === 'COSMOS_ENDPOINT',
  );
});

test('malformed settings fail naming the setting and the expected form', () => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ COSMOS_ENDPOINT: 'not a url' }, 'COSMOS_ENDPOINT', /http\(s\) URL/],
    [{ AZURE_SUBSCRIPTION_ID: '1234' }, 'AZURE_SUBSCRIPTION_ID', /GUID/],
    [{ AzureWebJobsStorage: 'garbage' }, 'AzureWebJobsStorage', /connection string/],
    [{ BATCHAI_MODE: 'prod' }, 'BATCHAI_MODE', /"local" or "azure"/],
    [{ BATCHAI_LOCATION: 'West US' }, 'BATCHAI_LOCATION', /region/],
    [{ BATCHAI_SECRETS_KEY: 'c2hvcnQ=' }, 'BATCHAI_SECRETS_KEY', /32 random bytes/],
  ];
  for (const [env, setting, message] of cases) {
    assert.throws(
      () => loadSettings({ BATCHAI_SECRETS_KEY, ...env }),
      (err: unknown) => err instanceof SettingsError && err.setting === setting && message.test(err.message),
      setting,
    );
  }
});

test('without a Cosmos key the app uses its managed identity; identity-based storage is recognised', () => {
  const settings = loadSettings({
    BATCHAI_MODE: 'azure',
    AzureWebJobsStorage__accountName: 'prodstore',
    COSMOS_ENDPOINT: 'https://acct.documents.azure.com:443/',
    AZURE_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
    BATCHAI_RESOURCE_GROUP: 'rg',
    BATCHAI_LOCATION: 'westus2',
    BATCHAI_SECRETS_KEY,
  });
  assert.equal(settings.cosmos.key, undefined);
  assert.equal(settings.storage.kind, 'identity');
  assert.equal(settings.compute.armEndpoint, 'https://management.azure.com/');
});

test('the settings the local stack hands the app load back into the same endpoints', () => {
  const env = localStackAppSettings({
    secretsKey: BATCHAI_SECRETS_KEY,
    storage: { connectionString: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k;' },
    cosmos: { endpoint: 'https://127.0.0.1:9999/', key: 'k', database: 'db', caCertPath: '/x/cert.pem' },
    subscriptionId: '00000000-0000-0000-0000-000000000000',
    resourceGroup: 'batchai-local',
    location: 'local',
    compute: { endpoint: 'http://127.0.0.1:9998/' },
  });
  const settings = loadSettings(env);
  assert.equal(settings.cosmos.endpoint, 'https://127.0.0.1:9999/');
  assert.equal(settings.cosmos.caCertPath, '/x/cert.pem');
  assert.equal(settings.compute.armEndpoint, 'http://127.0.0.1:9998/');
});

test('auth settings: issuers and audiences are lists, an issuer needs an audience, App Service auth is off by default', () => {
  const plain = loadSettings({ BATCHAI_SECRETS_KEY });
  assert.deepEqual(plain.auth.issuers, []);
  assert.equal(plain.auth.trustAppServiceAuth, false);
  assert.deepEqual(plain.auth.functionKeys, { kind: 'none' });
  const configured = loadSettings({
    BATCHAI_SECRETS_KEY,
    AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0, https://sts.windows.net/t/',
    AUTH_AUDIENCE: 'api://app,app',
    BATCHAI_TRUST_APP_SERVICE_AUTH: 'true',
    BATCHAI_OWNER_PRINCIPAL_IDS: 'a,b',
    AzureWebJobsSecretStorageType: 'keyvault',
    AzureWebJobsSecretStorageKeyVaultUri: 'https://v.vault.azure.net/',
  });
  assert.deepEqual(configured.auth.issuers, ['https://login.microsoftonline.com/t/v2.0', 'https://sts.windows.net/t/']);
  assert.deepEqual(configured.auth.audiences, ['api://app', 'app']);
  assert.equal(configured.auth.trustAppServiceAuth, true);
  assert.deepEqual(configured.auth.subscriptionOwners, ['a', 'b']);
  assert.deepEqual(configured.auth.functionKeys, { kind: 'keyVault', vaultUri: 'https://v.vault.azure.net/' });
  assert.throws(
    () => loadSettings({ BATCHAI_SECRETS_KEY, AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0' }),
    (err: unknown) => err instanceof SettingsError && err.setting === 'AUTH_AUDIENCE',
  );
  assert.throws(
    () => loadSettings({ BATCHAI_SECRETS_KEY, BATCHAI_TRUST_APP_SERVICE_AUTH: 'yes' }),
    (err: unknown) => err instanceof SettingsError && err.setting === 'BATCHAI_TRUST_APP_SERVICE_AUTH',
  );
  const local = localStackAppSettings({
    secretsKey: BATCHAI_SECRETS_KEY,
    storage: { connectionString: 'UseDevelopmentStorage=true' },
    cosmos: { endpoint: 'https://127.0.0.1:8081/', key: 'k', database: 'd', caCertPath: 'c' },
    subscriptionId: '00000000-0000-0000-0000-000000000000',
    resourceGroup: 'rg',
    location: 'local',
    functionKeysFile: '/tmp/keys.json',
    issuer: { url: 'http://127.0.0.1:1/t/v2.0', audience: 'api://batchai-local', ownerPrincipalId: 'owner' },
  });
  const fromStack = loadSettings(local);
  assert.deepEqual(fromStack.auth.issuers, ['http://127.0.0.1:1/t/v2.0']);
  assert.deepEqual(fromStack.auth.subscriptionOwners, ['owner']);
  assert.equal(fromStack.auth.submissionPrincipalId, 'owner');
  assert.deepEqual(fromStack.auth.functionKeys, { kind: 'file', path: '/tmp/keys.json' });
});

test('secrets keys: several local keys (current first), or a Key Vault secret; malformed ones name the setting', () => {
  const older = randomBytes(32).toString('base64');
  const ring = loadSettings({ BATCHAI_SECRETS_KEY: `${BATCHAI_SECRETS_KEY},${older}` }).secretsKeys;
  assert.deepEqual(ring.kind === 'keys' && ring.keys.map((k) => k.toString('base64')), [BATCHAI_SECRETS_KEY, older]);
  const vault = loadSettings({ BATCHAI_SECRETS_KEY_VAULT_URL: 'https://demo-vault.vault.azure.net/' }).secretsKeys;
  assert.deepEqual(vault, {
    kind: 'keyVault',
    vaultUrl: 'https://demo-vault.vault.azure.net/',
    secretName: 'batchai-secrets-key',
  });
  assert.throws(
    () => loadSettings({ BATCHAI_SECRETS_KEY: `${BATCHAI_SECRETS_KEY},short` }),
    (err: unknown) => err instanceof SettingsError && err.setting === 'BATCHAI_SECRETS_KEY',
  );
  assert.throws(
    () => loadSettings({ BATCHAI_SECRETS_KEY_VAULT_URL: 'http://vault' }),
    (err: unknown) => err instanceof SettingsError && err.setting === 'BATCHAI_SECRETS_KEY_VAULT_URL',
  );
});

test('the public base URL is a setting (trailing slash dropped); absent, links follow the listener', () => {
  const settings = loadSettings({ BATCHAI_SECRETS_KEY, BATCHAI_PUBLIC_BASE_URL: 'https://batchai.example.com/api/' });
  assert.equal(settings.publicBaseUrl, 'https://batchai.example.com/api');
  assert.equal(loadSettings({ BATCHAI_SECRETS_KEY }).publicBaseUrl, undefined);
  // On App Service without the setting: the platform's host name, never anything from a request.
  const onAzure = loadSettings({ BATCHAI_SECRETS_KEY, WEBSITE_HOSTNAME: 'batchai-demo.azurewebsites.net' });
  assert.equal(onAzure.publicBaseUrl, 'https://batchai-demo.azurewebsites.net/api');
});
