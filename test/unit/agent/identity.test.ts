import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gpusOf, localIdentity } from '../../../agent/identity.js';
import { parseConnectionString } from '../../../agent/storage/credentials.js';
import { LOCAL_VM_ENV } from '../../../shared/domain/agent-wire.js';

test('GPUs of the N-series sizes; none for the others', () => {
  assert.equal(gpusOf('STANDARD_NC6'), 1);
  assert.equal(gpusOf('Standard_NC24'), 4);
  assert.equal(gpusOf('STANDARD_NC12S_V2'), 2);
  assert.equal(gpusOf('STANDARD_ND24S'), 4);
  assert.equal(gpusOf('STANDARD_NV6'), 1);
  assert.equal(gpusOf('STANDARD_D15_V2'), 0);
});

test('a local VM is who LOCAL_VM_ENV says; a missing variable is named', () => {
  const env = {
    [LOCAL_VM_ENV.vmId]: 'vm',
    [LOCAL_VM_ENV.name]: 'ss_4',
    [LOCAL_VM_ENV.instanceId]: '4',
    [LOCAL_VM_ENV.vmSize]: 'STANDARD_D4_V2',
    [LOCAL_VM_ENV.diskRoot]: '/d',
    [LOCAL_VM_ENV.networkRoot]: '/n',
    [LOCAL_VM_ENV.port]: '50004',
    [LOCAL_VM_ENV.storageConnectionString]: 'AccountName=a;AccountKey=aw==',
  };
  const id = localIdentity(env);
  assert.equal(id.instanceId, '4');
  assert.equal(id.cores, 8);
  assert.equal(id.port, 50004);
  assert.equal(id.ipAddress, '127.0.0.1');
  assert.throws(() => localIdentity({ ...env, [LOCAL_VM_ENV.diskRoot]: '' }), /BATCHAI_VM_DISK is not set/);
});

test('connection strings: explicit endpoints (Azurite) or derived from the account (Azure)', () => {
  const local = parseConnectionString(
    'DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/dev;QueueEndpoint=http://127.0.0.1:2/dev;',
  );
  assert.deepEqual(local, {
    accountName: 'dev',
    accountKey: 'a2V5',
    blobEndpoint: 'http://127.0.0.1:1/dev',
    queueEndpoint: 'http://127.0.0.1:2/dev',
  });
  assert.equal(
    parseConnectionString('AccountName=acc;AccountKey=k').queueEndpoint,
    'https://acc.queue.core.windows.net',
  );
  assert.throws(() => parseConnectionString('AccountName=acc'), /no AccountName\/AccountKey/);
});
