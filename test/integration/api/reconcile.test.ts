import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ensureContainers } from '../../../shared/cosmos/containers.js';
import { CosmosOperationStore } from '../../../shared/cosmos/cosmos-operation-store.js';
import { CosmosResourceStore } from '../../../shared/cosmos/cosmos-resource-store.js';
import { newJobRecord } from '../../../shared/domain/job-view.js';
import { parseBatchAiResourceIdOf } from '../../../shared/domain/resource-id.js';
import { validateJobCreate } from '../../../shared/domain/validate-requests.js';
import { BatchAiApi } from '../../support/api-client.js';
import { cosmosClient, startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';

// After a kill -9 of the stack, jobs were left `creating` for good: the record and its InProgress operation
// in Cosmos, no orchestration (issue 9). Here that state is written straight into Cosmos, as the crash left
// it, and the reconciler (a timer, also run at host start) must drive each job on to `succeeded`.

let stack: TestStack;
let api: BatchAiApi;
let clusterId: string;

before(async () => {
  // Reconcile every 2 s instead of 30 s, so the test does not wait for the default schedule.
  process.env.RECONCILE_SCHEDULE = '*/2 * * * * *';
  stack = await startTestStack();
  api = new BatchAiApi(stack.descriptor);
  clusterId = await api.seedWorkspace('ws');
});
after(async () => {
  delete process.env.RECONCILE_SCHEDULE;
  await stack?.dispose();
});

async function writeStuckJob(name: string, options: { withOperation: boolean }) {
  const { resources, operations } = await ensureContainers(
    cosmosClient(stack.descriptor),
    stack.descriptor.cosmos.database,
  );
  const store = new CosmosResourceStore(resources);
  const ops = new CosmosOperationStore(operations);
  const resourceId = api.jobPath('ws', 'exp', name);
  const id = parseBatchAiResourceIdOf('job', resourceId);
  assert.ok(id.ok);
  const properties = validateJobCreate({
    properties: {
      cluster: { id: clusterId },
      nodeCount: 1,
      stdOutErrPathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/out',
      customToolkitSettings: { commandLine: 'echo hi' },
    },
  });
  assert.ok(properties.ok, 'a valid job body');
  // Created two minutes ago: well past the reconciler's minimum age.
  const then = new Date(Date.now() - 120_000).toISOString();
  const operationId = randomUUID();
  await store.createIfAbsent({
    id: id.value,
    resourceId,
    record: {
      ...newJobRecord({ id: id.value, uid: randomUUID(), properties: properties.value, now: then }),
      operationId,
    } as unknown as Record<string, unknown>,
    bodyHash: 'written-by-the-test',
    createdAt: then,
    updatedAt: then,
  });
  if (options.withOperation) {
    await ops.createIfAbsent({ operationId, resourceId, action: 'create', status: 'InProgress', startTime: then });
  }
  return { ops, operationId };
}

async function provisioningOf(name: string): Promise<string | undefined> {
  const r = await api.call<{ properties: { provisioningState: string } }>('GET', api.jobPath('ws', 'exp', name));
  return r.status === 200 ? r.body.properties.provisioningState : undefined;
}

test('a job stuck creating (record + InProgress operation, no orchestration) is driven on', () =>
  withServiceOutput(stack, async () => {
    const { ops, operationId } = await writeStuckJob('stuck', { withOperation: true });
    assert.equal(await provisioningOf('stuck'), 'creating', 'the stuck state as the crash left it');
    await waitFor(
      'the reconciler to provision the stuck job',
      async () => (await provisioningOf('stuck')) === 'succeeded',
      60_000,
      200,
    );
    assert.equal((await ops.get(operationId))?.status, 'Succeeded', 'its create operation completes');
  }));

test('a job stored without its operation (crash between the two writes) gets one and is driven on', () =>
  withServiceOutput(stack, async () => {
    const { ops, operationId } = await writeStuckJob('stuck-no-op', { withOperation: false });
    assert.equal(await ops.get(operationId), undefined);
    await waitFor(
      'the reconciler to provision the job',
      async () => (await provisioningOf('stuck-no-op')) === 'succeeded',
      60_000,
      200,
    );
    const op = await ops.get(operationId);
    assert.equal(op?.status, 'Succeeded');
    assert.equal(op?.action, 'create');
  }));
