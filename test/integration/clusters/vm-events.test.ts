import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import {
  hostCluster,
  type JobCluster,
  jobBody,
  remoteLogins,
  shareDirectory,
  submitJob,
  waitForJob,
} from '../jobs/harness.js';
import { remoteLogins as clusterLogins, getCluster } from './harness.js';

// VM events delivered to the app's Event Grid trigger through the local Functions host, as Event Grid would deliver
// them: events about VMs that are not ours are acknowledged (2xx, no retry) and logged, in both schemas; a
// CloudEvents Preempt of a running job's node requeues the job at once (it runs again on the other node) and the node
// is replaced; the same event again changes nothing. test/unit/clusters/vm-events.test.ts has every shape.

let stack: TestStack;
let c: JobCluster;

before(async () => {
  stack = await startTestStack({ services: ['azurite', 'cosmos', 'compute', 'eventgrid', 'functions'] });
  c = await hostCluster(stack, 2);
});
after(() => stack?.dispose());

const t = (name: string, body: () => Promise<void>) =>
  test(name, { timeout: 240_000 }, () => withServiceOutput(stack, body));

const FIXTURES = new URL('../../../../test/fixtures/vm-events/', import.meta.url);
const fixture = (schema: 'eventgrid' | 'cloudevents', name: string) =>
  JSON.parse(readFileSync(new URL(`${schema}/${name}.json`, FIXTURES), 'utf8')) as Record<string, unknown>;

/** Delivers events to HandleVmEvent the way Event Grid does for the subscription's schema. */
async function deliver(events: Array<Record<string, unknown>>, schema: 'eventgrid' | 'cloudevents'): Promise<number> {
  const functions = stack.descriptor.functions!;
  const base = functions.apiBaseUrl.replace(/\/api\/?$/, '');
  const r = await fetch(
    `${base}/runtime/webhooks/eventgrid?functionName=HandleVmEvent&code=${encodeURIComponent(functions.masterKey!)}`,
    {
      method: 'POST',
      headers:
        schema === 'eventgrid'
          ? { 'content-type': 'application/json', 'aeg-event-type': 'Notification' }
          : { 'content-type': 'application/cloudevents-batch+json; charset=utf-8' },
      body: JSON.stringify(events),
    },
  );
  await r.arrayBuffer();
  return r.status;
}

const hostOutput = () => stack.supervisor.outputs()['functions'] ?? '';

t('events about VMs that are not ours are acknowledged and dropped, in both schemas', async () => {
  for (const schema of ['eventgrid', 'cloudevents'] as const) {
    const names = readdirSync(new URL(`${schema}/`, FIXTURES)).map((f) => f.replace(/\.json$/, ''));
    const events = names.map((name) => ({ ...fixture(schema, name), id: `${schema}-${name}` }));
    // One delivery per event, then all of them in one batch: never a 5xx (which would make Event Grid retry).
    for (const event of events) assert.equal(await deliver([event], schema), 200, `${schema} ${event.id}`);
    assert.equal(await deliver(events, schema), 200, `${schema} batch`);
  }
  const last = { ...fixture('cloudevents', 'annotated-preempted'), id: 'unknown-vm-last' };
  assert.equal(await deliver([last], 'cloudevents'), 200);
  await waitFor(
    'the host to log why the unknown VM event was dropped',
    () => /unknown-vm-last for bai-cfixture0000000000000000_3 ignored: no such node/.test(hostOutput()),
    30_000,
    100,
  );
});

t(
  "a CloudEvents Preempt of a running job's node: the job runs again on the other node, the node is replaced",
  async () => {
    const path = c.jobPath('preempted');
    const share = (name: string) => join(shareDirectory(stack), name);
    const starts = async () =>
      (await readFile(share('preempted-starts'), 'utf8').catch(() => '')).split('\n').length - 1;
    await submitJob(
      c.api,
      path,
      jobBody(c.clusterId, {
        customToolkitSettings: {
          commandLine:
            'echo start >> $AZ_BATCHAI_JOB_MOUNT_ROOT/afs/preempted-starts && while [ ! -f $AZ_BATCHAI_JOB_MOUNT_ROOT/afs/preempted-release ]; do sleep 0.1; done',
        },
      }),
    );
    await waitFor('the job to start', async () => (await starts()) === 1, 120_000, 100);
    const [held] = await remoteLogins(c.api, path);
    assert.ok(held);
    const [scaleSetName] = held.nodeId.split('_') as [string, string];

    // The scheduled event names the VM as `{scaleSet}_{instanceId}`; its subject is the scale set.
    const template = fixture('cloudevents', 'scheduled-preempt');
    const data = structuredClone(template['data']) as {
      resourceInfo: { properties: Record<string, unknown> };
      operationalInfo: { resourceEventTime: string };
    };
    const now = new Date().toISOString();
    data.resourceInfo.properties['Resources'] = [held.nodeId];
    data.operationalInfo.resourceEventTime = now;
    const scaleSetId = `/subscriptions/${stack.descriptor.subscriptionId}/resourceGroups/${stack.descriptor.resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${scaleSetName}`;
    const preempt = { ...template, id: 'preempt-1', subject: scaleSetId, time: now, data };
    const sentAt = Date.now();
    assert.equal(await deliver([preempt], 'cloudevents'), 200);
    await waitFor('the job to start again', async () => (await starts()) === 2, 120_000, 50);
    console.log(`Preempt (CloudEvents): job running again ${Date.now() - sentAt} ms after the event`);
    const [now2] = await remoteLogins(c.api, path);
    assert.notEqual(now2?.nodeId, held.nodeId, 'the second attempt runs on the other node');

    // The same event again (Event Grid delivers at least once) changes nothing.
    assert.equal(await deliver([{ ...preempt, id: 'preempt-1-again' }], 'cloudevents'), 200);
    await waitFor(
      'the repeat to be logged as ignored',
      () => new RegExp(`preempt-1-again for ${held.nodeId} ignored`).test(hostOutput()),
      30_000,
      100,
    );
    await writeFile(share('preempted-release'), '');
    const done = await waitForJob(c.api, path, ['succeeded', 'failed'], 120_000);
    assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
    // One attempt lost, counted as a preemption (the Preempt notice names the cause): never against the cap.
    const attempts = done['x-batchai-attempts'] ?? [];
    assert.deepEqual(
      attempts.map((a) => [a.code, a.countsAgainstCap]),
      [['NodePreempted', false]],
      `one preempted attempt: ${JSON.stringify(attempts)}`,
    );
    await waitFor(
      'the preempted node to be replaced',
      async () => {
        const view = await getCluster(c.api, c.clusterPath);
        const logins = await clusterLogins(c.api, c.clusterPath);
        return (
          view.properties.nodeStateCounts.idleNodeCount === 2 &&
          logins.length === 2 &&
          !logins.some((l) => l.nodeId === held.nodeId)
        );
      },
      120_000,
      100,
    );
  },
);
