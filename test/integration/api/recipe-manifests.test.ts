import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AZURITE_ACCOUNT_NAME } from '../../../shared/config/well-known-emulator-credentials.js';
import { BatchAiApi } from '../../support/api-client.js';
import { blobClient, startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';

// A recipe's job.json, exactly as Batch AI's public recipes ship it (no cluster, storage account placeholders, no
// credentials), dropped as a blob manifest: the channel completes it like `az batchai job create -f` did.
let stack: TestStack;
let api: BatchAiApi;
let clusterId: string;

before(async () => {
  stack = await startTestStack();
  api = new BatchAiApi(stack.descriptor);
  clusterId = await api.seedWorkspace('ws');
});
after(() => stack?.dispose());

const t = (name: string, body: () => Promise<void>) => test(name, () => withServiceOutput(stack, body));
const recipe = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/recipes/${name}`, import.meta.url)));

async function drop(name: string, body: Buffer): Promise<void> {
  const manifests = blobClient(stack.descriptor).getContainerClient('manifests');
  await manifests.createIfNotExists();
  await manifests.getBlockBlobClient(name).upload(body, body.length);
}

t('a published recipe dropped unchanged runs on the workspace’s only cluster with the configured storage', async () => {
  await drop('ws/exp/recipe-torch.json', recipe('PyTorch-GPU-Distributed-Gloo.job.json'));
  const job = await waitFor('the recipe job', async () => {
    const r = await api.call<{ properties: Record<string, unknown> }>('GET', api.jobPath('ws', 'exp', 'recipe-torch'));
    return r.status === 200 ? r.body.properties : undefined;
  });
  assert.deepEqual(job['cluster'], { id: clusterId });
  const shares = (job['mountVolumes'] as { azureFileShares: Array<Record<string, unknown>> }).azureFileShares;
  assert.deepEqual(
    shares.map((s) => [s['accountName'], s['azureFileUrl'], s['credentials']]),
    [
      [AZURITE_ACCOUNT_NAME, `https://${AZURITE_ACCOUNT_NAME}.file.core.windows.net/logs`, {}],
      [AZURITE_ACCOUNT_NAME, `https://${AZURITE_ACCOUNT_NAME}.file.core.windows.net/scripts`, {}],
    ],
    'account filled in, key write-only (never returned)',
  );
});

t('with two clusters, a manifest naming none is rejected with the reason; naming one by name works', async () => {
  const second = await api.call('PUT', `${api.workspacePath('ws')}/clusters/c2`, {
    body: {
      properties: { vmSize: 'STANDARD_D1', userAccountSettings: { adminUserName: 'a', adminUserPassword: 'p-Pa55' } },
    },
  });
  assert.equal(second.status, 202, second.text);
  await drop('ws/exp/ambiguous.json', recipe('TensorFlow-GPU.job.json'));
  const rejected = blobClient(stack.descriptor).getContainerClient('manifests-rejected');
  const report = await waitFor('the error report', async () => {
    const blob = rejected.getBlobClient('ws/exp/ambiguous.json.error.json');
    return (await blob.exists()) ? JSON.parse((await blob.downloadToBuffer()).toString('utf8')) : undefined;
  });
  assert.equal(report.error.target, 'properties.cluster');
  assert.match(report.error.message, /names no cluster and the workspace has 2 \('c1', 'c2'\)/);

  const named = JSON.parse(recipe('TensorFlow-GPU.job.json').toString('utf8'));
  named.properties.cluster = 'c2';
  await drop('ws/exp/named.json', Buffer.from(JSON.stringify(named)));
  const job = await waitFor('the named job', async () => {
    const r = await api.call<{ properties: Record<string, unknown> }>('GET', api.jobPath('ws', 'exp', 'named'));
    return r.status === 200 ? r.body.properties : undefined;
  });
  assert.deepEqual(job['cluster'], { id: api.clusterId('ws', 'c2') });
});

t('listOutputFiles refuses a directory that escapes the output directory, in any spelling', async () => {
  const job = api.jobPath('ws', 'exp', 'recipe-torch');
  for (const directory of ['..', '%2e%2e', '%252e%252e%252fx', '/etc', 'a%5c..%5cb']) {
    const r = await api.call<{ error: { code: string; target?: string } }>(
      'POST',
      `${job}/listOutputFiles?outputdirectoryid=stdouterr&directory=${encodeURIComponent(directory)}`,
    );
    assert.equal(r.status, 400, `${directory}: ${r.text}`);
    assert.equal(r.body.error.target, 'directory');
  }
  const fine = await api.call('POST', `${job}/listOutputFiles?outputdirectoryid=stdouterr&directory=logs%2Fepoch%201`);
  assert.equal(fine.status, 200, fine.text);
});
