import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BatchAiApi } from '../../support/api-client.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { clusterBody, getCluster, waitForNodes } from './harness.js';

// What a user sees when a cluster cannot be what they asked for (quota, a failing setup task, a failing mount),
// and autoscale from queued jobs: 0 → demand → 0. The compute emulator's core quota is small (8 vCPUs) and
// autoscale's idle grace period is one second, so both show quickly.

let stack: TestStack;
let api: BatchAiApi;
const ws = () => api.workspacePath('ws');

before(async () => {
  process.env['BATCHAI_AUTOSCALE_IDLE_GRACE_SECONDS'] = '1';
  stack = await startTestStack({ coreQuota: 8 });
  api = new BatchAiApi(stack.descriptor);
  assert.equal((await api.call('PUT', ws(), { body: { location: 'local' } })).status, 200);
  assert.equal((await api.call('PUT', `${ws()}/experiments/exp`, { body: {} })).status, 200);
});
after(async () => {
  delete process.env['BATCHAI_AUTOSCALE_IDLE_GRACE_SECONDS'];
  await stack?.dispose();
});

const t = (name: string, body: () => Promise<void>) =>
  test(name, { timeout: 240_000 }, () => withServiceOutput(stack, body));

async function createAndSettle(name: string, body: unknown) {
  const path = `${ws()}/clusters/${name}`;
  const created = await api.call('PUT', path, { body });
  assert.equal(created.status, 202, created.text);
  const done = await api.waitForOperation(created.headers.get('location')!, 120_000);
  return { path, done };
}

async function removeCluster(path: string) {
  const removed = await api.call('DELETE', path);
  assert.equal(removed.status, 202, removed.text);
  assert.equal((await api.waitForOperation(removed.headers.get('location')!, 120_000)).status, 204);
}

t('a quota overrun shows AccountLowPriorityCoreQuotaReached with ARM’s reason; the cluster stays usable', async () => {
  const { path, done } = await createAndSettle('big', clusterBody({ manual: { targetNodeCount: 20 } }));
  assert.equal(done.status, 200, done.text);
  const view = await waitForNodes(api, path, { current: 0, steady: true });
  assert.equal(view.properties.provisioningState, 'succeeded');
  const error = view.properties.errors?.[0];
  assert.equal(error?.code, 'AccountLowPriorityCoreQuotaReached', JSON.stringify(view.properties.errors));
  assert.match(error!.message, /20 node/);
  assert.match(JSON.stringify(error!.details), /Cores quota/);

  // A target within the quota succeeds and the error goes.
  const patched = await api.call('PATCH', path, {
    body: { properties: { scaleSettings: { manual: { targetNodeCount: 2 } } } },
  });
  assert.equal(patched.status, 200, patched.text);
  const fixed = await waitForNodes(api, path, { idleNodeCount: 2, current: 2, steady: true }, 120_000);
  assert.equal(fixed.properties.errors, undefined, JSON.stringify(fixed.properties.errors));
  await removeCluster(path);
});

t('a failing setup task makes the node unusable with SetupTaskFailed and its exit code in the API', async () => {
  const { path } = await createAndSettle(
    'setup',
    clusterBody(
      { manual: { targetNodeCount: 1 } },
      {
        nodeSetup: {
          setupTask: { commandLine: 'echo preparing; echo broken >&2; exit 3', stdOutErrPathPrefix: '/setup-logs' },
        },
      },
    ),
  );
  const view = await waitForNodes(api, path, { unusableNodeCount: 1, current: 1 }, 120_000);
  const error = await waitFor(
    'the setup error in cluster.errors',
    async () => (await getCluster(api, path)).properties.errors?.[0],
    60_000,
    100,
  );
  assert.equal(error.code, 'SetupTaskFailed', JSON.stringify(view.properties));
  assert.match(error.message, /^Node bai-c\w+_\d+: /);
  assert.match(error.message, /exited with code 3: broken/, 'the exit code and the last line of stderr');
  assert.equal(error.details?.find((d) => d.name === 'exitCode')?.value, '3');
  assert.ok(error.details?.some((d) => d.name === 'NodeId'));
  await removeCluster(path);
});

t('a failing mount makes the node unusable with MountFailed and the reason', async () => {
  const { path } = await createAndSettle(
    'mount',
    clusterBody(
      { manual: { targetNodeCount: 1 } },
      {
        nodeSetup: {
          mountVolumes: {
            unmanagedFileSystems: [{ mountCommand: 'echo no such server >&2; exit 7', relativeMountPath: 'bad' }],
          },
        },
      },
    ),
  );
  await waitForNodes(api, path, { unusableNodeCount: 1, current: 1 }, 120_000);
  const error = await waitFor(
    'the mount error in cluster.errors',
    async () => (await getCluster(api, path)).properties.errors?.[0],
    60_000,
    100,
  );
  assert.equal(error.code, 'MountFailed', JSON.stringify(error));
  assert.match(error.message, /no such server|exit|7/, JSON.stringify(error));
  assert.match(JSON.stringify(error), /bad/, 'the mount is named');
  await removeCluster(path);
});

t('autoscale: 0 nodes → 2 for a queued 2-node job → back to 0 once the job ends', async () => {
  const { path, done } = await createAndSettle(
    'auto',
    clusterBody({ autoScale: { minimumNodeCount: 0, maximumNodeCount: 3, initialNodeCount: 0 } }),
  );
  assert.equal(done.status, 200, done.text);
  await waitForNodes(api, path, { current: 0, steady: true });
  const job = `${ws()}/experiments/exp/jobs/j1`;
  const submitted = await api.call('PUT', job, {
    body: {
      properties: {
        cluster: { id: api.clusterId('ws', 'auto') },
        nodeCount: 2,
        stdOutErrPathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/logs',
        customToolkitSettings: { commandLine: 'echo hi' },
      },
    },
  });
  assert.ok(submitted.status === 201 || submitted.status === 202 || submitted.status === 200, submitted.text);
  await waitForNodes(api, path, { idleNodeCount: 2, current: 2, steady: true }, 120_000);
  // The job ends (terminated): no demand, and the idle nodes go after the grace period.
  const terminated = await api.call('POST', `${job}/terminate`);
  assert.equal(terminated.status, 202, terminated.text);
  await waitForNodes(api, path, { current: 0, steady: true }, 120_000);
  await removeCluster(path);
});
