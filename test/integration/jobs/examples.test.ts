import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { blobClient, startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { computeClient, waitForNodes } from '../clusters/harness.js';
import {
  getJob,
  hostCluster,
  type JobCluster,
  listOutputs,
  remoteLogins,
  shareDirectory,
  waitForJob,
} from './harness.js';

// The examples as users run them: examples/training/job.json dropped unchanged as a blob manifest (no cluster, the
// storage account placeholder) onto a workspace with one host-execution cluster; the script read from the share.

let stack: TestStack;
let c: JobCluster;
const REPO = join(import.meta.dirname, '..', '..', '..', '..');

before(async () => {
  stack = await startTestStack();
  // Low priority, so a node can be evicted (simulateEviction) under a running job.
  c = await hostCluster(stack, 2, 'demo', 'c', 'lowpriority');
  const scripts = join(shareDirectory(stack, 'examples'), 'scripts', 'training');
  await mkdir(scripts, { recursive: true });
  await copyFile(join(REPO, 'examples', 'training', 'train.py'), join(scripts, 'train.py'));
});
after(() => stack?.dispose());

const t = (name: string, body: () => Promise<void>) =>
  test(name, { timeout: 300_000 }, () => withServiceOutput(stack, body));

async function dropManifest(name: string, manifest: unknown): Promise<void> {
  const manifests = blobClient(stack.descriptor).getContainerClient('manifests');
  await manifests.createIfNotExists();
  const body = JSON.stringify(manifest);
  await manifests.getBlockBlobClient(`demo/exp/${name}.json`).upload(body, Buffer.byteLength(body));
}

const trainingManifest = async (epochs: number, secondsPerEpoch: number) => {
  const manifest = JSON.parse(await readFile(join(REPO, 'examples', 'training', 'job.json'), 'utf8'));
  manifest.properties.customToolkitSettings.commandLine = manifest.properties.customToolkitSettings.commandLine
    .replace('--epochs 5', `--epochs ${epochs}`)
    .replace('--seconds-per-epoch 1', `--seconds-per-epoch ${secondsPerEpoch}`);
  return manifest;
};

t(
  'the training example, dropped as a recipe-style manifest, logs live, succeeds, and its model downloads',
  async () => {
    await dropManifest('training', JSON.parse(await readFile(join(REPO, 'examples', 'training', 'job.json'), 'utf8')));
    const path = c.jobPath('training');
    await waitFor('the manifest to become a job', () => getJob(c.api, path), 60_000, 200);

    // While it runs, its stdout is readable through listOutputFiles.
    const live = await waitFor(
      'an epoch line in the running job stdout',
      async () => {
        const job = await getJob(c.api, path);
        if (job?.executionState !== 'running') return false;
        const f = (await listOutputs(c.api, path, 'stdouterr')).value.find((x) => x.name === 'stdout.txt');
        if (!f?.downloadUrl) return false;
        const text = await (await fetch(f.downloadUrl)).text();
        return /epoch 1\/5/.test(text) && text;
      },
      120_000,
      200,
    );
    assert.match(live, /starting from scratch/);

    const done = await waitForJob(c.api, path, ['succeeded', 'failed'], 180_000);
    assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
    assert.equal(done.executionInfo?.exitCode, 0);
    const model = (await listOutputs(c.api, path, 'MODEL')).value;
    const names = model.map((f) => f.name).sort();
    for (let e = 1; e <= 5; e++) assert.ok(names.includes(`checkpoint-epoch-000${e}.json`), names.join(','));
    const final = model.find((f) => f.name === 'model.json');
    const downloaded = JSON.parse(await (await fetch(final!.downloadUrl!)).text()) as { epochs: number; loss: number };
    assert.equal(downloaded.epochs, 5);
    assert.ok(downloaded.loss < 0.05, `loss ${downloaded.loss}`);
    // maxresults pages the listing (nextLink), and the pages add up to the whole directory.
    const first = await listOutputs(c.api, path, 'MODEL', '&maxresults=2');
    assert.equal(first.value.length, 2);
    assert.ok(first.nextLink, 'a nextLink after a full page');
  },
);

t('a node lost under a running job: the job is requeued as attempt 2 and resumes from its checkpoints', async () => {
  await dropManifest('evicted', await trainingManifest(30, 0.5));
  const path = c.jobPath('evicted');
  await waitFor(
    'the job to run and checkpoint',
    async () => {
      const job = await getJob(c.api, path);
      if (job?.executionState !== 'running') return false;
      const files = (await listOutputs(c.api, path, 'MODEL')).value;
      return files.some((f) => f.name === 'checkpoint-epoch-0002.json');
    },
    120_000,
    200,
  );
  const [node] = await remoteLogins(c.api, path);
  assert.ok(node, 'the running job reports its node');
  const [scaleSetName, instanceId] = node.nodeId.split('_') as [string, string];
  await computeClient(stack).virtualMachineScaleSetVMs.simulateEviction(
    stack.descriptor.resourceGroup,
    scaleSetName,
    instanceId,
  );
  const done = await waitForJob(c.api, path, ['succeeded', 'failed'], 240_000);
  assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
  const attempts = done['x-batchai-attempts'] ?? [];
  assert.equal(attempts.length, 1, JSON.stringify(done));
  assert.equal(attempts[0]!.attempt, 1);
  assert.equal(attempts[0]!.kind, 'infrastructure');
  assert.equal(attempts[0]!.code, 'NodePreempted');
  assert.equal((attempts[0] as { countsAgainstCap?: boolean }).countsAgainstCap, false);
  // The second attempt resumed instead of starting over.
  const stdout = (await listOutputs(c.api, path, 'stdouterr')).value.find((f) => f.name === 'stdout.txt');
  const log = await (await fetch(stdout!.downloadUrl!)).text();
  assert.match(log, /resumed from epoch \d+/);
  await waitForNodes(c.api, c.clusterPath, { idleNodeCount: 2 }, 120_000);
});
