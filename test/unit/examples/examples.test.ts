import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  clusterAllowsHostExecution,
  type JobResourceId,
  normalizeJobManifest,
  planLaunch,
  RENDEZVOUS_PORTS_PER_NODE,
  validateClusterCreate,
  validateJobCreate,
} from '../../../shared/domain/index.js';

// The examples are what a newcomer runs first; these checks keep them valid (manifest → job → launch plan) and run
// the dependency-free training script for real: it must log, checkpoint and resume.

const EXAMPLES = fileURLToPath(new URL('../../../../examples/', import.meta.url));
const CLUSTER_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/batchai-local/providers/Microsoft.BatchAI/workspaces/demo/clusters/local';
const JOB_ID: JobResourceId = {
  kind: 'job',
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'batchai-local',
  workspace: 'demo',
  experiment: 'examples',
  job: 'run',
};
const STORAGE = { name: 'devstoreaccount1', key: 'a2V5' };
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const scratch = mkdtempSync(join(tmpdir(), 'examples-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const readJson = (path: string) => JSON.parse(readFileSync(join(EXAMPLES, path), 'utf8')) as unknown;
const manifests = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(EXAMPLES, d.name, 'job.json')))
  .map((d) => `${d.name}/job.json`);

function exampleJob(path: string) {
  const normalized = normalizeJobManifest(readJson(path), {
    clusters: [{ name: 'local', id: CLUSTER_ID }],
    storageAccount: STORAGE,
  });
  assert.ok(normalized.ok);
  const validation = validateJobCreate(normalized.value);
  if (!validation.ok) assert.fail(JSON.stringify(validation.error, null, 2));
  return validation.value;
}

function localNodes(count: number, root: string) {
  return Array.from({ length: count }, (_, i) => ({
    nodeId: `local-${i}`,
    ipAddress: '127.0.0.1',
    port: 50100 + i,
    gpus: 0,
    rendezvousPort: 41000 + i * RENDEZVOUS_PORTS_PER_NODE,
    layout: { mountRoot: join(root, 'mounts'), jobsRoot: join(root, 'jobs') },
  }));
}

describe('the example manifests', () => {
  test('there are the three examples', () => {
    assert.deepEqual(manifests.sort(), ['mpi-hello/job.json', 'pytorch-ddp/job.json', 'training/job.json']);
  });

  test('the example cluster opts into host execution and is a valid 2018-05-01 body', () => {
    const cluster = validateClusterCreate(readJson('cluster.json'));
    if (!cluster.ok) assert.fail(JSON.stringify(cluster.error));
    assert.ok(clusterAllowsHostExecution(cluster.value));
  });

  for (const path of manifests) {
    test(`${path} completes, validates and plans on two local nodes`, () => {
      const job = exampleJob(path);
      const result = planLaunch({
        jobId: JOB_ID,
        uid: 'u1',
        attempt: 1,
        job,
        nodes: localNodes(job.nodeCount, scratch),
        hostExecution: true,
      });
      if (!result.ok) assert.fail(JSON.stringify(result.error));
      assert.deepEqual(result.plan.execution, { mode: 'host' });
    });
  }
});

function train(args: string[]) {
  const run = spawnSync(PYTHON, [join(EXAMPLES, 'training', 'train.py'), ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the training script', () => {
  test('logs each epoch, checkpoints, and a second run resumes to the same model', () => {
    const whole = join(scratch, 'whole');
    const interrupted = join(scratch, 'interrupted');
    const full = train(['--epochs', '6', '--output', whole]);
    assert.equal(full.status, 0, full.stderr);
    assert.match(full.stdout, /starting from scratch/);
    assert.equal(full.stdout.match(/^epoch \d\/6 loss=/gm)?.length, 6);

    const first = train(['--epochs', '6', '--output', interrupted, '--fail-after-epoch', '3']);
    assert.equal(first.status, 3);
    assert.deepEqual(readdirSync(interrupted).sort(), [
      'checkpoint-epoch-0001.json',
      'checkpoint-epoch-0002.json',
      'checkpoint-epoch-0003.json',
    ]);
    const second = train(['--epochs', '6', '--output', interrupted]);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /^resumed from epoch 3 /m);
    assert.deepEqual(second.stdout.match(/^epoch (\d)\/6/gm), ['epoch 4/6', 'epoch 5/6', 'epoch 6/6']);
    assert.deepEqual(
      JSON.parse(readFileSync(join(interrupted, 'model.json'), 'utf8')),
      JSON.parse(readFileSync(join(whole, 'model.json'), 'utf8')),
    );
  });

  test('a torn latest checkpoint is skipped: it resumes from the one before', () => {
    const dir = join(scratch, 'torn');
    assert.equal(train(['--epochs', '4', '--output', dir, '--fail-after-epoch', '3']).status, 3);
    writeFileSync(join(dir, 'checkpoint-epoch-0003.json'), '{"epoch": 3, "mod');
    const again = train(['--epochs', '4', '--output', dir]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /skipping unreadable checkpoint checkpoint-epoch-0003\.json/);
    assert.match(again.stdout, /^resumed from epoch 2 /m);
  });

  test('run through its launch plan under bash: outputs land in AZ_BATCHAI_OUTPUT_MODEL', () => {
    const root = join(scratch, 'node');
    const job = exampleJob('training/job.json');
    const result = planLaunch({
      jobId: JOB_ID,
      uid: 'u2',
      attempt: 1,
      job,
      nodes: localNodes(1, root),
      hostExecution: true,
    });
    assert.ok(result.ok);
    const [task] = result.plan.tasks;
    assert.ok(task);
    const env = Object.fromEntries(task.environmentVariables.map((v) => [v.name, v.value]));
    // What the agent does before the task: the share mounted at afs holds the script; the working directory exists.
    const script = join(env['AZ_BATCHAI_JOB_MOUNT_ROOT']!, 'afs', 'scripts', 'training', 'train.py');
    mkdirSync(dirname(script), { recursive: true });
    copyFileSync(join(EXAMPLES, 'training', 'train.py'), script);
    mkdirSync(task.workingDirectory, { recursive: true });
    const run = spawnSync('bash', ['-c', task.commandLine.replace('--seconds-per-epoch 1', '--seconds-per-epoch 0')], {
      cwd: task.workingDirectory,
      env: { PATH: `${dirname(PYTHON)}:${process.env['PATH'] ?? ''}`, ...env },
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    const outputs = env['AZ_BATCHAI_OUTPUT_MODEL']!;
    assert.match(
      outputs,
      /\/afs\/00000000-0000-0000-0000-000000000000\/batchai-local\/workspaces\/demo\/.*\/u2\/checkpoints$/,
    );
    assert.ok(readdirSync(outputs).includes('model.json'), readdirSync(outputs).join(', '));
    assert.ok(readdirSync(outputs).includes('checkpoint-epoch-0005.json'));
  });
});
