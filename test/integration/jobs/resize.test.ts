import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CONTAINERS } from '../../../shared/cosmos/containers.js';
import { CosmosNodeStore } from '../../../shared/cosmos/cosmos-node-store.js';
import { RENDEZVOUS_PORTS_PER_NODE } from '../../../shared/domain/launch-plans/types.js';
import { splitNodeId } from '../../../shared/jobs/job-records.js';
import { cosmosClient, startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { getCluster, waitForNodes } from '../clusters/harness.js';
import {
  getJob,
  hostCluster,
  type JobCluster,
  jobBody,
  remoteLogins,
  scheduleStore,
  submitJob,
  waitForJob,
  waitingJobs,
} from './harness.js';

// A cluster resized down while every node runs a job: the cluster's nodeDeallocationOption reaches the job on the
// released node as an event, the other job runs on. requeue: the job goes back to the queue as its next attempt;
// terminate: it ends failed, saying why; waitforjobcompletion: it runs to its end, and only then is its node
// removed, without any other job being scheduled on it meanwhile. Jobs wait for a file the test writes (a gate),
// never for a fixed time.

let stack: TestStack;
let c: JobCluster;
let gates: string;

before(async () => {
  stack = await startTestStack();
  c = await hostCluster(stack, 2);
  gates = await mkdtemp(join(tmpdir(), 'resize-gates-'));
});
after(() => stack?.dispose());

type Option = 'requeue' | 'terminate' | 'waitforjobcompletion';

const resize = async (targetNodeCount: number, nodeDeallocationOption: Option) => {
  const patched = await c.api.call('PATCH', c.clusterPath, {
    body: { properties: { scaleSettings: { manual: { targetNodeCount, nodeDeallocationOption } } } },
  });
  assert.equal(patched.status, 200, patched.text);
};

/** A job that runs until the test writes its gate file. */
const gated = (name: string) =>
  jobBody(c.clusterId, {
    customToolkitSettings: { commandLine: `while [ ! -e ${join(gates, name)} ]; do sleep 0.05; done` },
  });
const open = (name: string) => writeFile(join(gates, name), '');

/** Two gated jobs running, one on each node of the cluster (grown back to 2 nodes first). */
async function twoRunning(option: Option, names: [string, string]): Promise<[string, string]> {
  await resize(2, option);
  await waitForNodes(c.api, c.clusterPath, { idleNodeCount: 2, current: 2, steady: true }, 180_000);
  const paths = names.map((n) => c.jobPath(n)) as [string, string];
  for (const [i, path] of paths.entries()) await submitJob(c.api, path, gated(names[i]!));
  for (const path of paths) await waitForJob(c.api, path, ['running']);
  await waitForNodes(c.api, c.clusterPath, { runningNodeCount: 2 }, 60_000);
  return paths;
}

test(
  'resize to 1 with requeue: the job on the released node is requeued, the other keeps running',
  { timeout: 300_000 },
  () =>
    withServiceOutput(stack, async () => {
      const a = c.jobPath('a');
      const b = c.jobPath('b');
      await submitJob(c.api, a, jobBody(c.clusterId, { customToolkitSettings: { commandLine: 'sleep 600' } }));
      await submitJob(c.api, b, jobBody(c.clusterId, { customToolkitSettings: { commandLine: 'sleep 600' } }));
      await waitForJob(c.api, a, ['running']);
      await waitForJob(c.api, b, ['running']);
      await waitForNodes(c.api, c.clusterPath, { runningNodeCount: 2 }, 60_000);

      const patched = await c.api.call('PATCH', c.clusterPath, {
        body: { properties: { scaleSettings: { manual: { targetNodeCount: 1, nodeDeallocationOption: 'requeue' } } } },
      });
      assert.equal(patched.status, 200, patched.text);

      const requeued = await waitFor(
        'one job to be requeued by the resize',
        async () => {
          for (const path of [a, b]) {
            const job = await getJob(c.api, path);
            if (job?.['x-batchai-attempts']?.length) return { path, job };
          }
          return false;
        },
        120_000,
        200,
      );
      assert.equal(requeued.job['x-batchai-attempts']![0]!.code, 'NodesReleased');
      assert.equal(requeued.job['x-batchai-attempts']![0]!.attempt, 1);
      const other = requeued.path === a ? b : a;
      // The cluster shrinks to the node that still runs the other job; the requeued job waits for a node.
      await waitForNodes(c.api, c.clusterPath, { current: 1, runningNodeCount: 1 }, 120_000);
      assert.equal((await getJob(c.api, other))?.executionState, 'running');
      assert.equal((await getJob(c.api, requeued.path))?.executionState, 'queued');

      for (const path of [a, b]) {
        const r = await c.api.call('POST', `${path}/terminate`);
        assert.equal(r.status, 202, r.text);
      }
      for (const path of [a, b])
        assert.equal((await waitForJob(c.api, path, ['failed', 'succeeded'])).executionState, 'failed');
    }),
);

test(
  'resize to 1 with terminate: the job on the released node ends failed with the reason, the other runs to its end',
  { timeout: 300_000 },
  () =>
    withServiceOutput(stack, async () => {
      const [a, b] = await twoRunning('terminate', ['term-a', 'term-b']);
      await resize(1, 'terminate');
      const ended = await waitFor(
        'one job to be terminated by the resize',
        async () => {
          for (const path of [a, b]) {
            const job = await getJob(c.api, path);
            if (job?.executionState === 'failed') return { path, job };
          }
          return false;
        },
        120_000,
        200,
      );
      const error = ended.job.executionInfo?.errors?.[0];
      assert.equal(error?.code, 'NodesReleased', JSON.stringify(ended.job));
      assert.match(error?.message ?? '', /terminate/);
      assert.ok(ended.job.executionInfo?.endTime);
      assert.equal(ended.job['x-batchai-attempts'], undefined, 'terminated, not requeued');
      const other = ended.path === a ? b : a;
      await waitForNodes(c.api, c.clusterPath, { current: 1, runningNodeCount: 1, steady: true }, 120_000);
      assert.equal((await getJob(c.api, other))?.executionState, 'running');
      await open(other === a ? 'term-a' : 'term-b');
      const done = await waitForJob(c.api, other, ['succeeded', 'failed']);
      assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
      assert.equal(done.executionInfo?.exitCode, 0);
    }),
);

test(
  'resize to 1 with waitforjobcompletion: jobs run to their end; the released node goes only then, and no queued job gets it',
  { timeout: 300_000 },
  () =>
    withServiceOutput(stack, async () => {
      const names: [string, string] = ['wait-a', 'wait-b'];
      const paths = await twoRunning('waitforjobcompletion', names);
      const nodeIds = await Promise.all(
        paths.map(async (path) => {
          const logins = await waitFor(`${path} to report its node`, async () => {
            const l = await remoteLogins(c.api, path);
            return l.length === 1 && l;
          });
          return logins[0]!.nodeId;
        }),
      );
      const database = cosmosClient(stack.descriptor).database(stack.descriptor.cosmos.database);
      const nodes = new CosmosNodeStore(database.container(CONTAINERS.nodes.id as string));
      await resize(1, 'waitforjobcompletion');

      // The resize asks for one running node: it is marked, and its job keeps running.
      const marked = await waitFor(
        'the resize to mark one running node for release',
        async () => {
          const flags = await Promise.all(
            nodeIds.map(async (id) => {
              const { scaleSetName, instanceId } = splitNodeId(id);
              return (await nodes.get(scaleSetName, instanceId))?.releaseRequested === true;
            }),
          );
          return flags.filter(Boolean).length === 1 && { index: flags.indexOf(true) };
        },
        120_000,
        200,
      );
      const released = marked.index;
      const kept = 1 - released;
      // Both nodes share 127.0.0.1: each was given its own block of rendezvous ports when its job was launched.
      const ports = await Promise.all(
        nodeIds.map(async (id) => {
          const { scaleSetName, instanceId } = splitNodeId(id);
          return (await nodes.get(scaleSetName, instanceId))?.rendezvousPort;
        }),
      );
      assert.ok(
        ports.every((p) => p !== undefined && p >= 20_000 && p < 52_000),
        JSON.stringify(ports),
      );
      assert.ok(Math.abs(ports[0]! - ports[1]!) >= RENDEZVOUS_PORTS_PER_NODE, JSON.stringify(ports));
      const cluster = await getCluster(c.api, c.clusterPath);
      assert.equal(cluster.properties.currentNodeCount, 2);
      assert.equal(cluster.properties.allocationState, 'resizing');
      for (const path of paths) assert.equal((await getJob(c.api, path))?.executionState, 'running');

      // A job queued meanwhile must not get the released node when its job ends.
      const next = c.jobPath('wait-next');
      await submitJob(c.api, next, jobBody(c.clusterId, { customToolkitSettings: { commandLine: 'echo next' } }));
      const schedules = scheduleStore(stack);
      await waitFor(
        "the next job in the cluster queue (or staged behind the kept node's job)",
        async () => {
          return waitingJobs(await schedules.read(c.clusterId)).some((q) => q.jobId.endsWith('/wait-next'));
        },
        120_000,
        100,
      );

      // The released node's job completes on its own: it succeeds, and only now the node leaves.
      await open(names[released]!);
      const first = await waitForJob(c.api, paths[released]!, ['succeeded', 'failed']);
      assert.equal(first.executionState, 'succeeded', JSON.stringify(first));
      await waitForNodes(c.api, c.clusterPath, { current: 1, runningNodeCount: 1, steady: true }, 120_000);
      const logins = await remoteLogins(c.api, c.clusterPath);
      assert.deepEqual(
        logins.map((l) => l.nodeId),
        [nodeIds[kept]],
      );
      assert.equal((await getJob(c.api, next))?.executionState, 'queued', 'the next job waits for the kept node');

      await open(names[kept]!);
      for (const path of [paths[kept]!, next]) {
        const done = await waitForJob(c.api, path, ['succeeded', 'failed']);
        assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
      }
      assert.equal((await getJob(c.api, next))?.['x-batchai-attempts'], undefined, 'it never got a node that left');
    }),
);
