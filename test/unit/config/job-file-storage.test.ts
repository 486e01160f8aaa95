import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { loadSettings, SettingsError } from '../../../shared/config/settings.js';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from '../../../shared/config/well-known-emulator-credentials.js';

const BATCHAI_SECRETS_KEY = randomBytes(32).toString('base64');
const AZURE = {
  BATCHAI_MODE: 'azure',
  BATCHAI_SECRETS_KEY,
  AzureWebJobsStorage: 'AccountName=app;AccountKey=YXBw',
  COSMOS_ENDPOINT: 'https://cosmos.example/',
  AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000001',
  BATCHAI_RESOURCE_GROUP: 'rg',
  BATCHAI_LOCATION: 'westus2',
};

test('job files get Azurite’s account locally by default', () => {
  assert.deepEqual(loadSettings({ BATCHAI_SECRETS_KEY }).jobFileStorage, {
    name: AZURITE_ACCOUNT_NAME,
    key: AZURITE_ACCOUNT_KEY,
  });
});

test('on Azure there is no default: never the app’s own storage account', () => {
  assert.equal(loadSettings(AZURE).jobFileStorage, undefined);
  const set = loadSettings({
    ...AZURE,
    BATCHAI_JOB_FILE_STORAGE: 'DefaultEndpointsProtocol=https;AccountName=jobdata;AccountKey=a2V5==;EndpointSuffix=x',
  });
  assert.deepEqual(set.jobFileStorage, { name: 'jobdata', key: 'a2V5==' });
});

test('a job file storage setting without a key fails naming the setting', () => {
  assert.throws(
    () => loadSettings({ ...AZURE, BATCHAI_JOB_FILE_STORAGE: 'AccountName=jobdata' }),
    (err: unknown) => err instanceof SettingsError && err.setting === 'BATCHAI_JOB_FILE_STORAGE',
  );
});
