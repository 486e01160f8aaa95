import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from '../../../shared/config/well-known-emulator-credentials.js';
import { blobClient, startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { waitForNodes } from '../clusters/harness.js';
import {
  getJob,
  hostCluster,
  type JobCluster,
  jobBody,
  listOutputs,
  readShareFile,
  remoteLogins,
  scheduleStore,
  submitJob,
  waitForJob,
  waitingJobs,
} from './harness.js';

// Jobs through the public API on a full local stack: a 2-node host-execution cluster of real agent processes.
// Each job below ends in the state its story says, with the reason in executionInfo, and gives its nodes back.

let stack: TestStack;
let c: JobCluster;

before(async () => {
  stack = await startTestStack();
  c = await hostCluster(stack, 2);
});
after(() => stack?.dispose());

const t = (name: string, body: () => Promise<void>) =>
  test(name, { timeout: 300_000 }, () => withServiceOutput(stack, body));

const bothIdle = () => waitForNodes(c.api, c.clusterPath, { idleNodeCount: 2, runningNodeCount: 0 }, 60_000);

t('a one-node job succeeds; its stdout and outputs are listed where they are and downloadable', async () => {
  const path = c.jobPath('hello');
  await submitJob(
    c.api,
    path,
    jobBody(c.clusterId, {
      customToolkitSettings: {
        commandLine: 'echo "hello from $AZ_BATCHAI_TASK_INDEX" && echo 42 > $AZ_BATCHAI_OUTPUT_OUT/answer.txt',
      },
    }),
  );
  const done = await waitForJob(c.api, path, ['succeeded', 'failed']);
  assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
  assert.equal(done.executionInfo?.exitCode, 0);
  assert.ok(done.executionInfo?.startTime && done.executionInfo.endTime);
  const segment = done.jobOutputDirectoryPathSegment;
  assert.equal(await readShareFile(stack, `${segment}/stdouterr/stdout.txt`), 'hello from 0\n');

  // listOutputFiles from the share, with links that download exactly that file.
  const logs = await listOutputs(c.api, path, 'stdouterr');
  const stdout = logs.value.find((f) => f.name === 'stdout.txt');
  assert.equal(stdout?.fileType, 'file', JSON.stringify(logs));
  assert.equal(await (await fetch(stdout!.downloadUrl!)).text(), 'hello from 0\n');
  const outputs = await listOutputs(c.api, path, 'OUT');
  const answer = outputs.value.find((f) => f.name === 'answer.txt');
  assert.equal(answer?.properties?.contentLength, 3);
  assert.equal(await (await fetch(answer!.downloadUrl!)).text(), '42\n');
  // A tampered link grants nothing.
  const forged = new URL(answer!.downloadUrl!);
  forged.searchParams.set('p', forged.searchParams.get('p')!.replace('answer.txt', '../../../../../etc/passwd'));
  assert.equal((await fetch(forged)).status, 403);
  // A directory escaping the output directory is refused.
  const escaping = await c.api.call(
    'POST',
    `${path}/listOutputFiles?outputdirectoryid=OUT&directory=${encodeURIComponent('../..')}`,
  );
  assert.equal(escaping.status, 400, escaping.text);
  await bothIdle();
});

t('a failing job ends failed with its exit code in executionInfo', async () => {
  const path = c.jobPath('fails');
  await submitJob(
    c.api,
    path,
    jobBody(c.clusterId, { customToolkitSettings: { commandLine: 'echo about to fail >&2; exit 3' } }),
  );
  const done = await waitForJob(c.api, path, ['succeeded', 'failed']);
  assert.equal(done.executionState, 'failed');
  assert.equal(done.executionInfo?.exitCode, 3);
  assert.equal(done.executionInfo?.errors?.[0]?.code, 'JobFailed');
  assert.match(done.executionInfo?.errors?.[0]?.message ?? '', /exit code 3/);
  await bothIdle();
});

t('a failing job preparation fails the job with the reason, and the job itself never runs', async () => {
  const path = c.jobPath('prep-fails');
  await submitJob(
    c.api,
    path,
    jobBody(c.clusterId, {
      jobPreparation: { commandLine: 'echo no dataset >&2; exit 5' },
      customToolkitSettings: { commandLine: 'echo ran > $AZ_BATCHAI_OUTPUT_OUT/ran.txt' },
    }),
  );
  const done = await waitForJob(c.api, path, ['succeeded', 'failed']);
  assert.equal(done.executionState, 'failed');
  const error = done.executionInfo?.errors?.[0];
  assert.equal(error?.code, 'JobPreparationFailed', JSON.stringify(done));
  assert.match(error?.message ?? '', /exit code 5/);
  const outputs = await listOutputs(c.api, path, 'OUT');
  assert.equal(
    outputs.value.some((f) => f.name === 'ran.txt'),
    false,
  );
  await bothIdle();
});

t('a running job: live stdout through listOutputFiles, its node in remote logins, then terminate', async () => {
  const path = c.jobPath('ticks');
  await submitJob(
    c.api,
    path,
    jobBody(c.clusterId, {
      customToolkitSettings: { commandLine: 'for i in $(seq 1 3000); do echo tick $i; sleep 0.1; done' },
    }),
  );
  await waitForJob(c.api, path, ['running']);
  const view = await waitForNodes(c.api, c.clusterPath, { runningNodeCount: 1, idleNodeCount: 1 }, 60_000);
  assert.equal(view.properties.nodeStateCounts.runningNodeCount, 1);
  const logins = await waitFor('the job to report its node', async () => {
    const l = await remoteLogins(c.api, path);
    return l.length === 1 && l;
  });
  assert.equal(logins[0]!.ipAddress, '127.0.0.1');

  // The log grows while the job runs.
  const text = await waitFor(
    'the running job stdout to have ticks',
    async () => {
      const files = await listOutputs(c.api, path, 'stdouterr');
      const f = files.value.find((x) => x.name === 'stdout.txt');
      if (!f?.downloadUrl) return false;
      const body = await (await fetch(f.downloadUrl)).text();
      return /tick 5\n/.test(body) && body;
    },
    60_000,
    200,
  );
  assert.match(text, /^tick 1\n/);
  assert.equal((await getJob(c.api, path))?.executionState, 'running');

  const terminated = await c.api.call('POST', `${path}/terminate`);
  assert.equal(terminated.status, 202, terminated.text);
  const op = await c.api.waitForOperation(terminated.headers.get('location')!, 120_000);
  assert.equal(op.status, 200, op.text);
  const done = await waitForJob(c.api, path, ['succeeded', 'failed']);
  assert.equal(done.executionState, 'failed');
  assert.equal(done.executionInfo?.errors?.[0]?.code, 'JobTerminated');
  assert.ok(done.executionInfo?.endTime);
  await bothIdle();
  // The process is gone: the log stops growing.
  const segment = done.jobOutputDirectoryPathSegment;
  const a = await readShareFile(stack, `${segment}/stdouterr/stdout.txt`);
  await waitForNodes(c.api, c.clusterPath, { idleNodeCount: 2 }, 60_000);
  const b = await readShareFile(stack, `${segment}/stdouterr/stdout.txt`);
  assert.ok(b.length >= a.length);
});

t('maxWallClockTime ends a job that runs too long', async () => {
  const path = c.jobPath('too-long');
  await submitJob(
    c.api,
    path,
    jobBody(c.clusterId, {
      constraints: { maxWallClockTime: 'PT3S' },
      customToolkitSettings: { commandLine: 'sleep 120' },
    }),
  );
  const done = await waitForJob(c.api, path, ['succeeded', 'failed']);
  assert.equal(done.executionState, 'failed');
  assert.equal(done.executionInfo?.errors?.[0]?.code, 'JobTimeout', JSON.stringify(done));
  const ran = Date.parse(done.executionInfo!.endTime!) - Date.parse(done.executionInfo!.startTime!);
  assert.ok(ran >= 3000, `ended after ${ran} ms`);
  await bothIdle();
});

t('deleting a running job terminates it first and frees its node', async () => {
  const path = c.jobPath('deleted');
  await submitJob(c.api, path, jobBody(c.clusterId, { customToolkitSettings: { commandLine: 'sleep 300' } }));
  await waitForJob(c.api, path, ['running']);
  await waitForNodes(c.api, c.clusterPath, { runningNodeCount: 1 }, 60_000);
  const deleted = await c.api.call('DELETE', path);
  assert.ok([200, 202, 204].includes(deleted.status), deleted.text);
  if (deleted.status === 202) await c.api.waitForOperation(deleted.headers.get('location')!, 120_000);
  assert.equal((await c.api.call('GET', path)).status, 404);
  await bothIdle();
});

t('a burst of mixed jobs starts in priority order, and a 2-node job gets both nodes at once', async () => {
  // A 2-node job holds the cluster while the others queue behind it. It ends when the test releases it, once all five
  // are in the cluster's queue: on a loaded machine, submissions (and their enqueueing) can take longer than any
  // fixed run time would, and a job the scheduler has not seen yet cannot be ordered.
  const release = join(await mkdtemp(join(tmpdir(), 'gate-')), 'release');
  const gate = c.jobPath('gate');
  await submitJob(
    c.api,
    gate,
    jobBody(c.clusterId, {
      nodeCount: 2,
      customToolkitSettings: { commandLine: `while [ ! -e ${release} ]; do sleep 0.05; done` },
    }),
  );
  await waitForJob(c.api, gate, ['running']);
  const quick = (priority: string, nodeCount = 1) =>
    jobBody(c.clusterId, {
      schedulingPriority: priority,
      nodeCount,
      customToolkitSettings: { commandLine: 'sleep 1' },
    });
  const order = [
    ['low-1', quick('low')],
    ['normal-1', quick('normal')],
    ['high-1', quick('high')],
    ['gang-high', quick('high', 2)],
    ['normal-2', quick('normal')],
  ] as const;
  for (const [name, body] of order) await submitJob(c.api, c.jobPath(name), body);
  const schedules = scheduleStore(stack);
  // Queued or staged behind the gate (decision 0120); a job staged before a higher one arrived is asked back from
  // its node's agent, and the test waits for that answer too: what is staged when the gate ends starts first.
  await waitFor(
    'all five jobs in the cluster queue, staging settled',
    async () => {
      const doc = await schedules.read(c.clusterId);
      return waitingJobs(doc).length === order.length && (doc.staged ?? []).every((s) => s.revoke === undefined);
    },
    120_000,
  );
  await writeFile(release, '');

  // While the gang job runs, it holds both nodes.
  await waitForJob(c.api, c.jobPath('gang-high'), ['running', 'succeeded'], 180_000);
  const gangLogins = await remoteLogins(c.api, c.jobPath('gang-high'));
  const done = await Promise.all(
    order.map(([name]) => waitForJob(c.api, c.jobPath(name), ['succeeded', 'failed'], 180_000)),
  );
  for (const d of done) assert.equal(d.executionState, 'succeeded', JSON.stringify(d));
  const start = Object.fromEntries(order.map(([name], i) => [name, Date.parse(done[i]!.executionInfo!.startTime!)]));
  const end = Object.fromEntries(order.map(([name], i) => [name, Date.parse(done[i]!.executionInfo!.endTime!)]));
  // high before normal before low, FIFO within a class. When the gate ends, high-1 takes one node and the 2-node
  // high job waits for the second (it is the reserved job); normal-1 may backfill the free node (EASY: with equal
  // wall-clock limits it provably ends by the reservation's shadow time), but nothing queued behind it may.
  // (high-1 and normal-1 start in the same pass, so their start times may come in either order.)
  assert.ok(start['high-1']! < start['gang-high']!, JSON.stringify(start));
  assert.ok(start['gang-high']! < start['normal-2']!, JSON.stringify(start));
  assert.ok(start['gang-high']! < start['low-1']!, JSON.stringify(start));
  assert.ok(start['normal-1']! < start['normal-2']!, JSON.stringify(start));
  // Gang: nothing else ran alongside it (it had both nodes), and it reported two nodes while it ran.
  assert.ok(gangLogins.length === 2 || gangLogins.length === 0, JSON.stringify(gangLogins));
  for (const other of ['high-1', 'normal-1', 'normal-2', 'low-1']) {
    const overlaps = start[other]! < end['gang-high']! && end[other]! > start['gang-high']!;
    assert.equal(overlaps, false, `${other} ran alongside the 2-node job: ${JSON.stringify({ start, end })}`);
  }
  await bothIdle();
});

t('stdout on a blob container: a running job’s log is listed with a SAS link while it runs', async () => {
  const container = blobClient(stack.descriptor).getContainerClient('joblogs');
  await container.createIfNotExists();
  const path = c.jobPath('blob-logs');
  await submitJob(c.api, path, {
    properties: {
      cluster: { id: c.clusterId },
      nodeCount: 1,
      stdOutErrPathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/bfs/logs',
      mountVolumes: {
        azureBlobFileSystems: [
          {
            accountName: AZURITE_ACCOUNT_NAME,
            containerName: 'joblogs',
            credentials: { accountKey: AZURITE_ACCOUNT_KEY },
            relativeMountPath: 'bfs',
          },
        ],
      },
      customToolkitSettings: { commandLine: 'for i in $(seq 1 600); do echo line $i; sleep 0.1; done' },
    },
  });
  const text = await waitFor(
    'the running job stdout in the blob container',
    async () => {
      const job = await getJob(c.api, path);
      if (job?.executionState !== 'running') return false;
      const f = (await listOutputs(c.api, path, 'stdouterr')).value.find((x) => x.name === 'stdout.txt');
      if (!f?.downloadUrl) return false;
      const r = await fetch(f.downloadUrl);
      const body = r.ok ? await r.text() : '';
      return /line 3\n/.test(body) && body;
    },
    90_000,
    200,
  );
  assert.match(text, /^line 1\n/);
  const blobs = [];
  for await (const b of container.listBlobsFlat({ prefix: 'logs/' })) blobs.push(b.name);
  assert.ok(
    blobs.some((n) => n.endsWith('/stdouterr/stdout.txt')),
    blobs.join(','),
  );
  const terminated = await c.api.call('POST', `${path}/terminate`);
  assert.equal(terminated.status, 202, terminated.text);
  assert.equal((await waitForJob(c.api, path, ['failed', 'succeeded'])).executionState, 'failed');
  await bothIdle();
});
