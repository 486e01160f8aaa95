import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Allocation } from '../../../shared/domain/scheduling.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import {
  hostCluster,
  type JobCluster,
  jobBody,
  remoteLogins,
  scheduleStore,
  submitJob,
  waitForJob,
} from './harness.js';

// A scheduling pass writes a job's allocation, then tells the job. A pass stopped between the two (its process
// killed, the raise refused) must not leave the job waiting forever on nodes the document gives it: the next pass
// tells it (retell-allocations.ts). Here the document is written as such a pass would have left it: the job's
// entry moved from the queue to an allocation, and no event raised.

let stack: TestStack;
let c: JobCluster;

before(async () => {
  stack = await startTestStack();
  c = await hostCluster(stack, 1, 'ws', 'untold');
});
after(() => stack?.dispose());

const echo = (name: string) =>
  jobBody(c.clusterId, { customToolkitSettings: { commandLine: `echo ${name}` }, nodeCount: 1 });

test('a job whose allocation was written but never told is told by the next pass and runs', () =>
  withServiceOutput(stack, async () => {
    const schedules = scheduleStore(stack);
    const [login] = await remoteLogins(c.api, c.clusterPath);
    assert.ok(login, 'the cluster has a node');
    const nodeId = login.nodeId;
    // The node is held (in the document only) by a job that does not exist, so the next one queues.
    const now = new Date();
    const ghost: Allocation = {
      jobId: c.jobPath('ghost'),
      attempt: 1,
      priority: 'normal',
      nodeIds: [nodeId],
      startedAt: now.toISOString(),
      deadline: new Date(now.getTime() + 3_600_000).toISOString(),
      queuedAt: now.toISOString(),
      nodeCount: 1,
      maxWallClockMs: 3_600_000,
      backfilled: false,
    };
    await schedules.update(c.clusterId, (doc) => ({
      doc: { ...doc, allocations: [...doc.allocations, ghost] },
      result: undefined,
    }));
    await submitJob(c.api, c.jobPath('untold'), echo('untold'));
    const isUntold = (e: { jobId: string }) => e.jobId.endsWith('/jobs/untold');
    await waitFor(
      'the job to be queued behind the node held',
      async () => (await schedules.read(c.clusterId)).queue.some(isUntold),
      60_000,
      100,
    );

    // What a pass that stopped after its write leaves: the node given to the job, the job not told.
    await schedules.update(c.clusterId, (doc) => {
      const entry = doc.queue.find(isUntold)!;
      const at = new Date().toISOString();
      return {
        doc: {
          ...doc,
          queue: doc.queue.filter((e) => !isUntold(e)),
          allocations: [
            ...doc.allocations.filter((a) => a.jobId !== ghost.jobId),
            {
              jobId: entry.jobId,
              attempt: entry.attempt,
              priority: entry.priority,
              nodeIds: [nodeId],
              startedAt: at,
              deadline: new Date(Date.parse(at) + entry.maxWallClockMs).toISOString(),
              queuedAt: entry.queuedAt,
              nodeCount: 1,
              maxWallClockMs: entry.maxWallClockMs,
              backfilled: false,
            },
          ],
        },
        result: undefined,
      };
    });

    // The next pass (run here by another job's arrival) tells it; both jobs run, the untold one first.
    await submitJob(c.api, c.jobPath('next'), echo('next'));
    const done = await waitForJob(c.api, c.jobPath('untold'), ['succeeded', 'failed'], 60_000);
    assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
    const next = await waitForJob(c.api, c.jobPath('next'), ['succeeded', 'failed'], 60_000);
    assert.equal(next.executionState, 'succeeded', JSON.stringify(next));
    assert.ok(
      Date.parse(next.executionInfo!.startTime!) >= Date.parse(done.executionInfo!.endTime!),
      'the job queued behind it started after it ended',
    );
    const doc = await schedules.read(c.clusterId);
    assert.deepEqual(doc.allocations, [], 'every allocation was released');
  }));
