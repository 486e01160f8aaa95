// Mounts on the local stack, with the real agent and a real Azurite: a blob container synced both ways, an Azure
// Files share and a file-server export shared by nodes, an unmanaged mountCommand, live logs shipped to the blob
// container while a task runs, and failures that say what failed and why.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { MountSpec } from '../../../shared/domain/agent-protocol.js';
import { sealForNode } from '../../../shared/secrets/seal-for-node.js';
import { AgentHarness, command, type RunningAgent, waitFor } from './harness.js';

let h: AgentHarness;
let container: ContainerClient;
before(async () => {
  h = await AgentHarness.start();
  container = BlobServiceClient.fromConnectionString(h.connectionString).getContainerClient('data');
  await container.createIfNotExists();
  await container.getBlockBlobClient('input/train.csv').upload('a,b\n1,2\n', 8);
  await container.getBlockBlobClient('input/odd name & ü #1.txt').upload('odd', 3);
});
after(async () => {
  await h?.dispose();
});

const blobText = async (name: string): Promise<string | undefined> => {
  try {
    return (await container.getBlobClient(name).downloadToBuffer()).toString('utf8');
  } catch {
    return undefined;
  }
};

async function setUp(agent: RunningAgent, mounts: MountSpec[]) {
  const reg = await agent.registered();
  await h.send(agent, command(reg, { kind: 'setup', setupId: 's1', mounts }));
  return reg;
}

test('a blob container: its blobs are there at mount, files written on the node reach it, live logs stream to it', async () => {
  const agent = await h.startAgent();
  const reg = await agent.registered();
  const storage = h.stack.descriptor.storage;
  await h.send(
    agent,
    command(reg, {
      kind: 'setup',
      setupId: 's1',
      mounts: [
        {
          kind: 'azureBlob',
          relativeMountPath: 'bfs',
          accountName: storage.accountName,
          containerName: 'data',
          blobEndpoint: storage.blobEndpoint,
          accountKey: sealForNode(reg.publicKey, storage.accountKey),
        },
      ],
    }),
  );
  await agent.event('setupSucceeded');
  const mount = join(agent.mountRoot, 'bfs');
  assert.equal(await readFile(join(mount, 'input/train.csv'), 'utf8'), 'a,b\n1,2\n');
  assert.equal(await readFile(join(mount, 'input/odd name & ü #1.txt'), 'utf8'), 'odd');

  await mkdir(join(mount, 'outputs'), { recursive: true });
  await writeFile(join(mount, 'outputs/model.txt'), 'weights');
  await writeFile(join(mount, 'outputs/epoch 1 & ü.ckpt'), Buffer.alloc(3 * 1024 * 1024, 7));
  assert.equal(await waitFor('the file in the container', () => blobText('outputs/model.txt'), 20_000), 'weights');
  const ckpt = await waitFor(
    'the checkpoint in the container',
    () =>
      container
        .getBlobClient('outputs/epoch 1 & ü.ckpt')
        .downloadToBuffer()
        .catch(() => undefined),
    20_000,
  );
  assert.ok(ckpt.equals(Buffer.alloc(3 * 1024 * 1024, 7)), 'streamed upload is byte for byte');

  // A blob written elsewhere (another node) shows up on this node.
  await container.getBlockBlobClient('shared/from-elsewhere.txt').upload('hi', 2);
  assert.equal(
    await waitFor(
      'the new blob on the node',
      () => readFile(join(mount, 'shared/from-elsewhere.txt'), 'utf8').catch(() => undefined),
      45_000,
    ),
    'hi',
  );

  // Live logs: a running task's stdout is in the container before the task ends.
  await h.send(
    agent,
    command(reg, {
      kind: 'runTask',
      jobId: 'live',
      attempt: 1,
      taskId: '0',
      commandLine: 'echo "epoch 1 loss 0.5"; exec sleep 300',
      workingDirectory: '/wd',
      environmentVariables: [],
      secrets: [],
      stdOutErrDirectory: '$AZ_BATCHAI_MOUNT_ROOT/bfs/jobs/live/stdouterr',
      files: [],
    }),
  );
  await agent.event('taskStarted', (e) => e.jobId === 'live');
  const live = await waitFor(
    'the running task log in the container',
    async () => ((await blobText('jobs/live/stdouterr/stdout.txt'))?.includes('epoch 1') ? true : undefined),
    20_000,
  );
  assert.equal(live, true);
  assert.ok(!agent.events().some((e) => e.kind === 'taskExited' && e.jobId === 'live'), 'still running');
  await h.send(agent, command(reg, { kind: 'killTask', jobId: 'live', attempt: 1, taskId: '0' }));
  await agent.event('taskExited', (e) => e.jobId === 'live');
  assert.equal(await blobText('jobs/live/stdouterr/stdout.txt'), 'epoch 1 loss 0.5\n');
});

test('an Azure Files share is one directory shared by every node', async () => {
  const scaleSet = 'bai-cshare';
  const a = await h.startAgent({ scaleSet, instanceId: '0' });
  const b = await h.startAgent({ scaleSet, instanceId: '1' });
  const share = {
    kind: 'azureFiles' as const,
    relativeMountPath: 'afs',
    accountName: 'devstoreaccount1',
    azureFileUrl: 'https://devstoreaccount1.file.core.windows.net/team-share',
    fileMode: '0777',
    directoryMode: '0777',
  };
  const regA = await setUp(a, [share]);
  const regB = await setUp(b, [share]);
  await a.event('setupSucceeded');
  await b.event('setupSucceeded');
  const task = (jobId: string, commandLine: string) => ({
    kind: 'runTask' as const,
    jobId,
    attempt: 1,
    taskId: '0',
    commandLine,
    workingDirectory: '/wd',
    environmentVariables: [],
    secrets: [],
    stdOutErrDirectory: '/out',
    files: [],
  });
  await h.send(a, command(regA, task('write', 'echo from-a > "$AZ_BATCHAI_MOUNT_ROOT/afs/note.txt"')));
  assert.equal((await a.event('taskExited', (e) => e.jobId === 'write')).exitCode, 0);
  await h.send(b, command(regB, task('read', 'cat "$AZ_BATCHAI_MOUNT_ROOT/afs/note.txt"')));
  assert.equal((await b.event('taskExited', (e) => e.jobId === 'read')).exitCode, 0);
  assert.equal(await readFile(join(b.disk, 'out/stdout.txt'), 'utf8'), 'from-a\n');
  assert.equal(
    await readFile(join(h.networkRoot, 'azurefiles/devstoreaccount1/team-share/note.txt'), 'utf8'),
    'from-a\n',
  );
});

test('a file server exports a directory that cluster nodes mount; an unmanaged mountCommand runs as given', async () => {
  const fs = await h.startAgent({ role: 'fileServer', fileServer: { diskCount: 2, exportPath: '/data' } });
  const fsReg = await fs.registered();
  assert.equal(fsReg.setup, 'succeeded', 'a file server is ready when it registers');
  const node = await h.startAgent();
  await setUp(node, [
    { kind: 'fileServer', relativeMountPath: 'nfs', serverAddress: '10.0.0.4', exportPath: '/data' },
    {
      kind: 'unmanaged',
      relativeMountPath: 'custom',
      mountCommand: 'echo "mounted by mountCommand" > "$AZ_BATCHAI_MOUNT_ROOT/custom/marker"',
    },
  ]);
  await node.event('setupSucceeded');
  await writeFile(join(node.mountRoot, 'nfs/written-on-node.txt'), 'x');
  assert.equal(await readFile(join(h.networkRoot, 'nfs/data/written-on-node.txt'), 'utf8'), 'x');
  assert.equal(await readFile(join(node.mountRoot, 'custom/marker'), 'utf8'), 'mounted by mountCommand\n');
});

test('a mount that fails reports MountFailed saying what failed and why', async () => {
  const storage = h.stack.descriptor.storage;
  const missing = await h.startAgent();
  await setUp(missing, [
    {
      kind: 'azureBlob',
      relativeMountPath: 'bfs',
      accountName: storage.accountName,
      containerName: 'no-such-container',
      blobEndpoint: storage.blobEndpoint,
    },
  ]);
  const e1 = (await missing.event('setupFailed')).error;
  assert.equal(e1.code, 'MountFailed');
  assert.match(e1.message, /container "no-such-container" does not exist/);
  assert.ok(e1.details?.some((d) => d.name === 'mountPath' && d.value.endsWith('/mounts/bfs')));
  assert.ok(e1.details?.some((d) => d.name === 'driver' && d.value === 'blobfuse2'));

  const noExport = await h.startAgent();
  await setUp(noExport, [
    { kind: 'fileServer', relativeMountPath: 'nfs', serverAddress: '10.0.0.9', exportPath: '/nothing' },
  ]);
  const e2 = (await noExport.event('setupFailed')).error;
  assert.equal(e2.code, 'MountFailed');
  assert.match(e2.message, /10\.0\.0\.9 does not export \/nothing/);

  const badCommand = await h.startAgent();
  await setUp(badCommand, [
    {
      kind: 'unmanaged',
      relativeMountPath: 'x',
      mountCommand: 'echo "mount error(13): Permission denied" >&2; exit 32',
    },
  ]);
  const e3 = (await badCommand.event('setupFailed')).error;
  assert.equal(e3.code, 'MountFailed');
  assert.match(e3.message, /exited with 32: mount error\(13\): Permission denied/);
  assert.ok(e3.details?.some((d) => d.name === 'exitCode' && d.value === '32'));
});

test("a job's mounts come with its tasks: mounted under $AZ_BATCHAI_JOB_MOUNT_ROOT, outputs uploaded before the exit is reported", async () => {
  const agent = await h.startAgent();
  const reg = await agent.registered();
  const storage = h.stack.descriptor.storage;
  const jobEnv = [
    { name: 'AZ_BATCHAI_JOB_TEMP', value: '/mnt/batch/tasks/shared/LS_root/jobs/jm' },
    { name: 'AZ_BATCHAI_JOB_MOUNT_ROOT', value: '$AZ_BATCHAI_JOB_TEMP/mounts' },
  ];
  const jobMount = {
    kind: 'azureBlob' as const,
    relativeMountPath: 'jobdata',
    accountName: storage.accountName,
    containerName: 'data',
    blobEndpoint: storage.blobEndpoint,
    accountKey: sealForNode(reg.publicKey, storage.accountKey),
  };
  const task = (taskId: string, commandLine: string, mounts: MountSpec[]) =>
    command(reg, {
      kind: 'runTask',
      jobId: 'jm',
      attempt: 1,
      taskId,
      commandLine,
      workingDirectory: '$AZ_BATCHAI_JOB_TEMP',
      environmentVariables: jobEnv,
      secrets: [],
      stdOutErrDirectory: `$AZ_BATCHAI_JOB_TEMP/stdouterr/${taskId}`,
      files: [],
      mounts,
    });
  await h.send(
    agent,
    task(
      'master',
      'cat "$AZ_BATCHAI_JOB_MOUNT_ROOT/jobdata/input/train.csv"; mkdir -p "$AZ_BATCHAI_JOB_MOUNT_ROOT/jobdata/jm-out" && echo result > "$AZ_BATCHAI_JOB_MOUNT_ROOT/jobdata/jm-out/final.txt"',
      [jobMount],
    ),
  );
  const exited = await agent.event('taskExited', (e) => e.taskId === 'master');
  assert.equal(exited.exitCode, 0);
  // No waiting: the agent flushes blob mounts before it reports the exit.
  assert.equal(await blobText('jm-out/final.txt'), 'result\n');
  const out = join(agent.disk, 'mnt/batch/tasks/shared/LS_root/jobs/jm/stdouterr/master/stdout.txt');
  assert.equal(await readFile(out, 'utf8'), 'a,b\n1,2\n');

  await h.send(
    agent,
    task('worker-1', 'true', [
      jobMount,
      { kind: 'fileServer', relativeMountPath: 'nfs', serverAddress: '10.0.0.7', exportPath: '/missing' },
    ]),
  );
  const failed = await agent.event('taskExited', (e) => e.taskId === 'worker-1');
  assert.equal(failed.error?.code, 'MountFailed');
  assert.match(failed.error?.message ?? '', /10\.0\.0\.7 does not export \/missing/);
  assert.ok(failed.error?.details?.some((d) => d.name === 'mountPath' && d.value.includes('/jobs/jm/mounts/nfs')));
  assert.ok(!agent.events().some((e) => e.kind === 'taskStarted' && e.taskId === 'worker-1'));
});
