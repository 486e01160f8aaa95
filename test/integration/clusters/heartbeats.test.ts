import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BatchAiApi } from '../../support/api-client.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { clusterBody, getCluster, remoteLogins, waitForNodes } from './harness.js';

// Missed heartbeats are the backup signal when no VM event comes: this stack runs without Event Grid, so a VM that
// freezes (SIGSTOP: alive, silent) is noticed only because its agent stops heartbeating. Heartbeats every second,
// a node silent for 6 s is lost.

let stack: TestStack;
let api: BatchAiApi;
const env = { BATCHAI_NODE_HEARTBEAT_MS: '1000', BATCHAI_NODE_LOST_AFTER_SECONDS: '6' };

before(async () => {
  Object.assign(process.env, env);
  stack = await startTestStack({ services: ['azurite', 'cosmos', 'compute', 'functions'] });
  api = new BatchAiApi(stack.descriptor);
});
after(async () => {
  for (const name of Object.keys(env)) delete process.env[name];
  await stack?.dispose();
});

test('a frozen VM that stops heartbeating is declared lost and replaced', { timeout: 240_000 }, () =>
  withServiceOutput(stack, async () => {
    const ws = api.workspacePath('ws');
    assert.equal((await api.call('PUT', ws, { body: { location: 'local' } })).status, 200);
    const path = `${ws}/clusters/c`;
    assert.equal((await api.call('PUT', path, { body: clusterBody({ manual: { targetNodeCount: 2 } }) })).status, 202);
    await waitForNodes(api, path, { idleNodeCount: 2, current: 2, steady: true }, 120_000);
    const [frozen] = await remoteLogins(api, path);
    const [scaleSetName, instanceId] = frozen!.nodeId.split('_') as [string, string];
    const fault = await fetch(
      `${stack.descriptor.compute!.endpoint.replace(/\/+$/, '')}/admin/vms/${scaleSetName}/${instanceId}/faults`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'makeUnavailable' }),
      },
    );
    assert.ok(fault.ok, `fault injection: ${fault.status} ${await fault.text()}`);
    await waitFor(
      'the silent node to be replaced by a new idle one',
      async () => {
        const view = await getCluster(api, path);
        const now = await remoteLogins(api, path);
        return (
          view.properties.nodeStateCounts.idleNodeCount === 2 &&
          now.length === 2 &&
          !now.some((l) => l.nodeId === frozen!.nodeId) &&
          now
        );
      },
      120_000,
      100,
    );
  }),
);
