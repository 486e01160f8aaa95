import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { waitForNodes } from '../clusters/harness.js';
import { getJob, hostCluster, type JobCluster, jobBody, submitJob, waitForJob } from './harness.js';

// A cluster resized down while every node runs a job: the cluster's nodeDeallocationOption reaches the job on the
// released node as an event (requeue: the job goes back to the queue as its next attempt), the other job runs on.

let stack: TestStack;
let c: JobCluster;

before(async () => {
  stack = await startTestStack();
  c = await hostCluster(stack, 2);
});
after(() => stack?.dispose());

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
