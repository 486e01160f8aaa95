import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureContainers } from '../../../shared/cosmos/containers.js';
import { CosmosScheduleStore, ensureSchedulesContainer } from '../../../shared/cosmos/cosmos-schedule-store.js';
import {
  type Allocation,
  type ClusterSchedule,
  enqueue,
  type QueuedJob,
  release,
  type SchedulerNode,
  schedulePass,
} from '../../../shared/domain/scheduling.js';
import { cosmosClient, startTestStack, type TestStack } from '../../support/stack.js';

// The schedule document on the real Cosmos emulator, through the real SDK: concurrent scheduling passes racing on one
// cluster never give a node twice, never lose a queued job, and each started job is reported to exactly one pass
// (the one whose write won), so it is launched once.
let stack: TestStack;
let store: CosmosScheduleStore;
const CLUSTER = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w/clusters/Race';

before(async () => {
  stack = await startTestStack({ services: ['cosmos'] });
  const { database } = await ensureContainers(cosmosClient(stack.descriptor), 'schedule-test');
  store = new CosmosScheduleStore(await ensureSchedulesContainer(database));
});
after(() => stack?.dispose());

const nodes: SchedulerNode[] = Array.from({ length: 6 }, (_, i) => ({ nodeId: `n${i}`, state: 'idle' }));
const job = (i: number): QueuedJob => ({
  jobId: `job-${String(i).padStart(2, '0')}`,
  attempt: 1,
  priority: i % 4 === 0 ? 'high' : 'normal',
  nodeCount: 1 + (i % 2),
  queuedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  maxWallClockMs: 3_600_000,
});

function checkInvariants(doc: ClusterSchedule, expectedJobs: number): void {
  const held = doc.allocations.flatMap((a) => a.nodeIds);
  assert.equal(new Set(held).size, held.length, `a node is held twice: ${held}`);
  assert.ok(held.every((id) => nodes.some((n) => n.nodeId === id)));
  const ids = [...doc.queue.map((q) => q.jobId), ...doc.allocations.map((a) => a.jobId)];
  assert.equal(new Set(ids).size, ids.length, 'a job is both queued and running, or twice');
  assert.equal(ids.length, expectedJobs, 'a job was lost');
}

test('a cluster never written reads as an empty schedule; casing of the id does not matter', async () => {
  assert.deepEqual(await store.read(CLUSTER), { clusterId: CLUSTER, queue: [], allocations: [] });
  await store.update(CLUSTER, (doc) => ({ doc: enqueue(doc, job(0)), result: undefined }));
  assert.deepEqual(
    (await store.read(CLUSTER.toLowerCase())).queue.map((q) => q.jobId),
    ['job-00'],
  );
});

test('concurrent enqueues and scheduling passes: no node twice, no job lost, each start reported once', async () => {
  const now = new Date(Date.UTC(2026, 0, 1, 1)).toISOString();
  let attempts = 0;
  const pass = () =>
    store.update(CLUSTER, (doc) => {
      attempts++;
      const r = schedulePass(doc, nodes, now);
      return { doc: r.doc, result: r.started };
    });
  const enqueues = Array.from({ length: 19 }, (_, i) =>
    store.update(CLUSTER, (doc) => {
      attempts++;
      return { doc: enqueue(doc, job(i + 1)), result: undefined };
    }),
  );
  const passes = Array.from({ length: 8 }, pass);
  const results = await Promise.all([...passes, ...enqueues]);
  const started = results.slice(0, 8).flatMap((r) => r.result as Allocation[]);
  let doc = await store.read(CLUSTER);
  checkInvariants(doc, 20);
  // The writers did race: some changes were recomputed after losing an If-Match.
  assert.ok(attempts > 27, `only ${attempts} attempts for 27 updates: nothing raced`);
  // Every allocation in the document was reported to exactly one pass: the caller that launches it.
  assert.deepEqual(started.map((a) => a.jobId).sort(), doc.allocations.map((a) => a.jobId).sort());

  // Jobs finish while passes race again: released nodes go to the next jobs, still never twice.
  const finished = doc.allocations.map((a) => a.jobId);
  await Promise.all([
    ...finished.map((id) => store.update(CLUSTER, (d) => ({ doc: release(d, id, 1), result: undefined }))),
    ...Array.from({ length: 6 }, pass),
  ]);
  await pass();
  doc = await store.read(CLUSTER);
  checkInvariants(doc, 20 - finished.length);
  assert.ok(doc.allocations.length > 0, 'the freed nodes were given to waiting jobs');
  assert.ok(doc.allocations.every((a) => !finished.includes(a.jobId)));
});

test('delete removes the schedule; deleting again is fine', async () => {
  await store.delete(CLUSTER);
  await store.delete(CLUSTER);
  assert.deepEqual((await store.read(CLUSTER)).queue, []);
});
