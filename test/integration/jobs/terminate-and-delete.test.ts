import assert from 'node:assert/strict';
import { access, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CosmosScheduleStore } from '../../../shared/cosmos/cosmos-schedule-store.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { waitForNodes } from '../clusters/harness.js';
import {
  getJob,
  hostCluster,
  type JobCluster,
  jobBody,
  listOutputs,
  scheduleStore,
  submitJob,
  waitForJob,
  waitingJobs,
} from './harness.js';

// Terminate and delete of a job in every state it can be in — queued, preparing, running, terminating, final — on
// a 1-node cluster (a job holding the node keeps the others queued), then the cluster itself deleted under a
// queued and a running job: they fail with ClusterNotFound and the cluster's scheduler ends. Every wait is for a
// signal (a file a job writes, a queue entry, a state in the API), never for a fixed time.

let stack: TestStack;
let c: JobCluster;
let gates: string;
let schedules: CosmosScheduleStore;

before(async () => {
  stack = await startTestStack();
  c = await hostCluster(stack, 1);
  gates = await mkdtemp(join(tmpdir(), 'terminate-gates-'));
  schedules = scheduleStore(stack);
});
after(() => stack?.dispose());

const gate = (name: string) => join(gates, name);
const open = (name: string) => writeFile(gate(name), '');
const exists = (name: string) =>
  access(gate(name)).then(
    () => true,
    () => false,
  );
/** Touches `<name>.started`, then waits for the gate `name`. */
const held = (name: string) => `touch ${gate(`${name}.started`)}; while [ ! -e ${gate(name)} ]; do sleep 0.05; done`;

const inQueue = (names: string[]) =>
  waitFor(
    `${names.join(', ')} in the cluster queue`,
    async () => {
      // Queued, or staged behind the running job (decision 0120): both are `queued` to the user.
      const waiting = waitingJobs(await schedules.read(c.clusterId));
      return names.every((n) => waiting.some((q) => q.jobId.endsWith(`/jobs/${n}`)));
    },
    120_000,
    100,
  );

async function terminate(path: string): Promise<void> {
  const r = await c.api.call('POST', `${path}/terminate`);
  assert.equal(r.status, 202, r.text);
  const op = await c.api.waitForOperation(r.headers.get('location')!, 120_000);
  assert.equal(op.status, 200, op.text);
}

async function remove(path: string): Promise<void> {
  const r = await c.api.call('DELETE', path);
  assert.ok([200, 202, 204].includes(r.status), r.text);
  if (r.status === 202) {
    const op = await c.api.waitForOperation(r.headers.get('location')!, 120_000);
    assert.ok([200, 204].includes(op.status), op.text);
  }
  assert.equal((await c.api.call('GET', path)).status, 404);
}

async function assertTerminated(path: string): Promise<void> {
  const done = await waitForJob(c.api, path, ['succeeded', 'failed']);
  assert.equal(done.executionState, 'failed', JSON.stringify(done));
  assert.equal(done.executionInfo?.errors?.[0]?.code, 'JobTerminated', JSON.stringify(done));
  assert.ok(done.executionInfo?.endTime);
}

const nodeIdle = () => waitForNodes(c.api, c.clusterPath, { idleNodeCount: 1, runningNodeCount: 0 }, 120_000);

test('terminate and delete: queued, final, preparing, running and terminating jobs', { timeout: 600_000 }, () =>
  withServiceOutput(stack, async () => {
    // Queued: the node is held by another job.
    const holder = c.jobPath('holder');
    await submitJob(c.api, holder, jobBody(c.clusterId, { customToolkitSettings: { commandLine: held('holder') } }));
    await waitForJob(c.api, holder, ['running']);
    const [queuedTerm, queuedDel] = [c.jobPath('queued-term'), c.jobPath('queued-del')];
    for (const path of [queuedTerm, queuedDel]) {
      await submitJob(c.api, path, jobBody(c.clusterId, { customToolkitSettings: { commandLine: 'echo never' } }));
    }
    await inQueue(['queued-term', 'queued-del']);
    await terminate(queuedTerm);
    await assertTerminated(queuedTerm);
    assert.equal((await getJob(c.api, queuedTerm))?.executionInfo?.startTime, undefined, 'it never started');
    await remove(queuedDel);
    await waitFor(
      'the queue to be empty',
      async () => {
        return waitingJobs(await schedules.read(c.clusterId)).length === 0;
      },
      120_000,
      100,
    );
    assert.equal((await getJob(c.api, holder))?.executionState, 'running');

    // Final: terminating a finished job changes nothing; deleting it removes it.
    await open('holder');
    assert.equal((await waitForJob(c.api, holder, ['succeeded', 'failed'])).executionState, 'succeeded');
    await terminate(holder);
    const after = await getJob(c.api, holder);
    assert.equal(after?.executionState, 'succeeded', JSON.stringify(after));
    assert.equal(after?.executionInfo?.errors, undefined);
    await remove(holder);
    await nodeIdle();

    // Preparing: its jobPreparation runs (and waits); the job's own command never runs.
    for (const [name, end] of [
      ['prep-term', 'terminate'],
      ['prep-del', 'delete'],
    ] as const) {
      const path = c.jobPath(name);
      await submitJob(
        c.api,
        path,
        jobBody(c.clusterId, {
          jobPreparation: { commandLine: held(name) },
          customToolkitSettings: { commandLine: 'echo ran > $AZ_BATCHAI_OUTPUT_OUT/ran.txt' },
        }),
      );
      await waitFor(`${name}'s preparation to start`, () => exists(`${name}.started`), 120_000, 100);
      if (end === 'terminate') {
        await terminate(path);
        await assertTerminated(path);
        const outputs = await listOutputs(c.api, path, 'OUT');
        assert.equal(
          outputs.value.some((f) => f.name === 'ran.txt'),
          false,
        );
      } else {
        await remove(path);
      }
      await nodeIdle();
    }

    // Running, and terminating: a job that ignores SIGTERM stays `terminating` until the agent's SIGKILL. A second
    // terminate, or a delete, meanwhile is accepted and ends the same way.
    for (const [name, second] of [
      ['term-twice', 'terminate'],
      ['term-then-del', 'delete'],
    ] as const) {
      const path = c.jobPath(name);
      await submitJob(
        c.api,
        path,
        jobBody(c.clusterId, { customToolkitSettings: { commandLine: `trap "" TERM; ${held(name)}` } }),
      );
      await waitFor(`${name} to start`, () => exists(`${name}.started`), 120_000, 100);
      const first = await c.api.call('POST', `${path}/terminate`);
      assert.equal(first.status, 202, first.text);
      if (second === 'terminate') {
        const again = await c.api.call('POST', `${path}/terminate`);
        assert.equal(again.status, 202, again.text);
        for (const r of [first, again]) {
          const op = await c.api.waitForOperation(r.headers.get('location')!, 120_000);
          assert.equal(op.status, 200, op.text);
        }
        await assertTerminated(path);
      } else {
        await remove(path);
        const op = await c.api.waitForOperation(first.headers.get('location')!, 120_000);
        assert.equal(op.status, 200, op.text);
      }
      await nodeIdle();
    }
  }),
);

test(
  'a deleted cluster: its queued and running jobs fail with ClusterNotFound and its scheduler ends',
  { timeout: 300_000 },
  () =>
    withServiceOutput(stack, async () => {
      const running = c.jobPath('on-deleted-running');
      const queued = c.jobPath('on-deleted-queued');
      await submitJob(
        c.api,
        running,
        jobBody(c.clusterId, { customToolkitSettings: { commandLine: held('on-deleted-running') } }),
      );
      await waitForJob(c.api, running, ['running']);
      await submitJob(c.api, queued, jobBody(c.clusterId, { customToolkitSettings: { commandLine: 'echo never' } }));
      await inQueue(['on-deleted-queued']);
      const scheduler = await schedulerInstance();
      assert.notEqual(scheduler.runtimeStatus, 'Completed');

      const deleted = await c.api.call('DELETE', c.clusterPath);
      assert.equal(deleted.status, 202, deleted.text);
      const q = await waitForJob(c.api, queued, ['succeeded', 'failed']);
      assert.equal(q.executionState, 'failed');
      assert.equal(q.executionInfo?.errors?.[0]?.code, 'ClusterNotFound', JSON.stringify(q));
      assert.match(q.executionInfo?.errors?.[0]?.message ?? '', /was deleted/);
      const r = await waitForJob(c.api, running, ['succeeded', 'failed']);
      assert.equal(r.executionState, 'failed', JSON.stringify(r));
      await waitFor(
        'the scheduler to end',
        async () => (await schedulerInstance()).runtimeStatus === 'Completed',
        120_000,
        200,
      );
      await c.api.waitForOperation(deleted.headers.get('location')!, 180_000);
      assert.equal((await c.api.call('GET', c.clusterPath)).status, 404);
    }),
);

/** The cluster's scheduler orchestration, through the Durable HTTP API of the stack's Functions host. */
async function schedulerInstance(): Promise<{ instanceId: string; runtimeStatus: string }> {
  const f = stack.descriptor.functions!;
  const r = await fetch(`${f.durableWebhookBaseUrl}/instances?top=1000&code=${f.masterKey}`);
  assert.equal(r.status, 200, await r.clone().text());
  const all = (await r.json()) as Array<{ instanceId: string; runtimeStatus: string }>;
  const schedulers = all.filter((i) => i.instanceId.startsWith('scheduler-'));
  assert.equal(schedulers.length, 1, JSON.stringify(schedulers));
  return schedulers[0]!;
}
