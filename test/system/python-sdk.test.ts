import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { descriptorPath } from '../../local/stack/descriptor.js';
import { loadOrCreateSigningKey, mintToken, principalIdOf } from '../../local/token-issuer/signing-key.js';
import { BatchAiApi } from '../support/api-client.js';
import { startTestStack, type TestStack } from '../support/stack.js';

// The "done when" check of issue 10: the official Batch AI Python SDK (Debian python3-azure, installed by
// scripts/install-system-packages.sh) drives the local API with the bearer token from the stack descriptor
// and nothing else: no token → 401, a tampered token → 401, a Reader → 403 on writes, the Owner creates.

const PYTHON = '/usr/bin/python3';
const script = join(fileURLToPath(new URL('../../../', import.meta.url)), 'test/system/python-sdk.py');
let stack: TestStack;

before(async () => {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run scripts/install-system-packages.sh`);
  stack = await startTestStack();
});

after(async () => {
  await stack?.dispose();
});

test('azure.mgmt.batchai drives the API with the stack token: 401 without or with a tampered token, 403 for a Reader', async () => {
  const api = new BatchAiApi(stack.descriptor);
  const auth = stack.descriptor.auth!;
  // A Reader of the resource group, granted through the roleAssignments API with the Owner's token.
  const grant = await api.call(
    'PUT',
    `/subscriptions/${api.sub}/resourceGroups/${api.rg}/providers/Microsoft.Authorization/roleAssignments/0b5a3e8e-8f6c-4d5e-9a7b-3c2d1e0f9a8b`,
    {
      apiVersion: '2022-04-01',
      bearer: auth.token,
      body: {
        properties: {
          roleDefinitionId: `/subscriptions/${api.sub}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`,
          principalId: principalIdOf('py-reader'),
        },
      },
    },
  );
  assert.equal(grant.status, 201, grant.text);
  const readerToken = await mintToken(await loadOrCreateSigningKey(stack.dataDir), {
    issuer: auth.issuer,
    principal: 'py-reader',
  });
  const { stdout, stderr } = await promisify(execFile)(PYTHON, [script, descriptorPath(stack.dataDir)], {
    env: { ...process.env, READER_TOKEN: readerToken, PYTHONPATH: '' },
    timeout: 300_000,
  }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`the Python SDK script failed: ${err.message}\n${err.stderr ?? ''}\n${err.stdout ?? ''}`);
  });
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  const context = `${stdout}\n${stderr}`;
  assert.deepEqual(out.no_token, { status: 401, code: 'AuthenticationFailed' }, context);
  assert.deepEqual(out.tampered, { status: 401, code: 'InvalidAuthenticationToken' }, context);
  assert.deepEqual(out.owner_create_workspace, { status: 200, name: 'py-ws' }, context);
  assert.deepEqual(out.owner_create_experiment, { status: 200, name: 'py-exp' }, context);
  assert.deepEqual(out.owner_list, ['py-ws'], context);
  assert.deepEqual(out.reader_get, { status: 200, name: 'py-ws' }, context);
  assert.deepEqual(out.reader_list_experiments, ['py-exp'], context);
  assert.deepEqual(out.reader_create_experiment, { status: 403, code: 'AuthorizationFailed' }, context);
  assert.deepEqual(out.reader_delete_workspace, { status: 403, code: 'AuthorizationFailed' }, context);
  assert.deepEqual(out.reader_create_workspace, { status: 403, code: 'AuthorizationFailed' }, context);
  // The Reader's refused writes changed nothing.
  const ws = await api.call('GET', api.workspacePath('py-ws'), { bearer: auth.token });
  assert.equal(ws.status, 200, ws.text);
  assert.equal((await api.call('GET', api.workspacePath('py-ws2'), { bearer: auth.token })).status, 404);
});
