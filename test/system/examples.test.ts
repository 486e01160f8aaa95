import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  getJob,
  hostCluster,
  type JobCluster,
  listOutputs,
  shareDirectory,
  waitForJob,
} from '../integration/jobs/harness.js';
import { blobClient, startTestStack, type TestStack, withServiceOutput } from '../support/stack.js';
import { waitFor } from '../support/wait-for.js';

// The 2-node examples that need Debian packages (`npm run test:system`): examples/mpi-hello (openmpi-bin) and
// examples/pytorch-ddp (python3-torch, run by /usr/bin/python3), each dropped unchanged as a blob manifest onto a
// workspace with one 2-node cluster, scripts read from the examples share.

let stack: TestStack;
let c: JobCluster;
const REPO = join(import.meta.dirname, '..', '..', '..');

before(async () => {
  stack = await startTestStack();
  c = await hostCluster(stack, 2, 'demo');
  for (const [dir, file] of [
    ['mpi-hello', 'hello.py'],
    ['pytorch-ddp', 'ddp_train.py'],
  ] as const) {
    const target = join(shareDirectory(stack, 'examples'), 'scripts', dir);
    await mkdir(target, { recursive: true });
    await copyFile(join(REPO, 'examples', dir, file), join(target, file));
  }
});
after(() => stack?.dispose());

const t = (name: string, body: () => Promise<void>) =>
  test(name, { timeout: 600_000 }, () => withServiceOutput(stack, body));

async function dropExample(example: string): Promise<string> {
  const manifests = blobClient(stack.descriptor).getContainerClient('manifests');
  await manifests.createIfNotExists();
  const body = await readFile(join(REPO, 'examples', example, 'job.json'), 'utf8');
  await manifests.getBlockBlobClient(`demo/exp/${example}.json`).upload(body, Buffer.byteLength(body));
  const path = c.jobPath(example);
  await waitFor(`the ${example} manifest to become a job`, () => getJob(c.api, path), 60_000, 200);
  return path;
}

t('the 2-node MPI example: mpirun starts one rank per slot and every rank leaves its file', async () => {
  const path = await dropExample('mpi-hello');
  const done = await waitForJob(c.api, path, ['succeeded', 'failed'], 300_000);
  const stderr = await readFile(
    join(shareDirectory(stack, 'examples'), done.jobOutputDirectoryPathSegment, 'stdouterr', 'stderr.txt'),
    'utf8',
  ).catch(() => '');
  assert.equal(done.executionState, 'succeeded', `${JSON.stringify(done)}\n${stderr}`);
  const names = (await listOutputs(c.api, path, 'RESULTS')).value.map((f) => f.name);
  assert.ok(names.includes('rank-0.txt') && names.includes('rank-1.txt'), names.join(','));
});

t('the 2-node PyTorch DDP example: both ranks meet over gloo through AZ_BATCHAI_* and train', async () => {
  const path = await dropExample('pytorch-ddp');
  const done = await waitForJob(c.api, path, ['succeeded', 'failed'], 540_000);
  assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
  const model = (await listOutputs(c.api, path, 'MODEL')).value;
  assert.ok(model.length > 0, 'the model directory has files');
  const logs = (await listOutputs(c.api, path, 'stdouterr')).value;
  const stdout = logs.find((f) => f.name === 'stdout.txt');
  assert.ok(stdout?.downloadUrl, JSON.stringify(logs));
  assert.ok((await (await fetch(stdout.downloadUrl)).text()).length > 0);
});
