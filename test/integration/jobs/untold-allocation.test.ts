import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureContainers } from '../../../shared/cosmos/containers.js';
import { CosmosResourceStore } from '../../../shared/cosmos/cosmos-resource-store.js';
import type { Allocation } from '../../../shared/domain/scheduling.js';
import { findAttemptTasks } from '../../../shared/jobs/find-attempt-tasks.js';
import { cosmosClient, startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import {
  getJob,
  hostCluster,
  type JobCluster,
  jobBody,
  remoteLogins,
  scheduleStore,
  submitJob,
  waitForJob,
} from './harness.js';

// A scheduling pass writes a job's allocation, then tells the job. A pass stopped between the two (its process
// killed, the raise refused) must not leave the job waiting forever on nodes the document gives it: the first pass
// of the next process tells it (retell-allocations.ts). And a job terminated before it heard of its nodes stops
// whatever the pass may have started there before the nodes go back (find-attempt-tasks.ts). Here the document is
// written as such a pass would have left it: the job's entry moved from the queue to an allocation, no event raised.
// (An allocation made since the running process started is not told again for 5 s: its own pass is likely telling
// it, so nothing here tells the terminated job about it meanwhile.)

let stack: TestStack;
let c: JobCluster;
let nodeId: string;

before(async () => {
  stack = await startTestStack();
  c = await hostCluster(stack, 1, 'ws', 'untold');
  const [login] = await remoteLogins(c.api, c.clusterPath);
  assert.ok(login, 'the cluster has a node');
  nodeId = login.nodeId;
});
after(() => stack?.dispose());

const echo = (name: string) =>
  jobBody(c.clusterId, { customToolkitSettings: { commandLine: `echo ${name}` }, nodeCount: 1 });
const isJob = (name: string) => (e: { jobId: string }) => e.jobId.endsWith(`/jobs/${name}`);

/** Submits the job and leaves it allocated the node in the document, untold (as a pass stopped after its write). */
async function untoldAllocation(name: string): Promise<void> {
  const schedules = scheduleStore(stack);
  // The node is held (in the document only) by a job that does not exist, so the job queues.
  const now = new Date();
  const ghost: Allocation = {
    jobId: c.jobPath(`ghost-of-${name}`),
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
  await submitJob(c.api, c.jobPath(name), echo(name));
  await waitFor(
    `${name} to be queued behind the node held`,
    async () => (await schedules.read(c.clusterId)).queue.some(isJob(name)),
    60_000,
    100,
  );
  await schedules.update(c.clusterId, (doc) => {
    const entry = doc.queue.find(isJob(name))!;
    const at = new Date().toISOString();
    return {
      doc: {
        ...doc,
        queue: doc.queue.filter((e) => !isJob(name)(e)),
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
}

/** The agents' log lines (JSON) with this message. */
async function agentLog(msg: string): Promise<Array<Record<string, unknown>>> {
  const logs = join(stack.dataDir, 'compute', 'logs');
  const lines: Array<Record<string, unknown>> = [];
  for (const file of await readdir(logs, { recursive: true }).catch(() => [] as string[])) {
    if (!file.endsWith('.log')) continue;
    for (const line of (await readFile(join(logs, file), 'utf8')).split('\n')) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === msg) lines.push(entry);
      } catch {
        // not a log line of the agent's
      }
    }
  }
  return lines;
}

test('a job whose allocation was written but never told is told by the first pass after a restart, and runs', () =>
  withServiceOutput(stack, async () => {
    await untoldAllocation('untold');
    // The process that wrote it is gone (as after a crash between the write and the telling).
    await stack.supervisor.kill('functions');
    await stack.supervisor.restart('functions');
    // The next pass (run here by another job's arrival) tells it; both jobs run, the untold one first.
    await submitJob(c.api, c.jobPath('next'), echo('next'));
    const done = await waitForJob(c.api, c.jobPath('untold'), ['succeeded', 'failed'], 60_000);
    assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
    assert.equal(done['x-batchai-attempts'], undefined, 'its first attempt ran: nothing was lost');
    const next = await waitForJob(c.api, c.jobPath('next'), ['succeeded', 'failed'], 60_000);
    assert.equal(next.executionState, 'succeeded', JSON.stringify(next));
    assert.ok(
      Date.parse(next.executionInfo!.startTime!) >= Date.parse(done.executionInfo!.endTime!),
      'the job queued behind it started after it ended',
    );
    assert.deepEqual((await scheduleStore(stack).read(c.clusterId)).allocations, [], 'every allocation was released');
  }));

test('a job terminated before it heard of its nodes stops what it may run there, ends terminated, and frees the node', () =>
  withServiceOutput(stack, async () => {
    await untoldAllocation('unheard');
    const uid = (await getJob(c.api, c.jobPath('unheard')))!.jobOutputDirectoryPathSegment.split('/').pop()!;
    const { resources } = await ensureContainers(cosmosClient(stack.descriptor), stack.descriptor.cosmos.database);
    const tasks = await findAttemptTasks(
      { schedules: scheduleStore(stack), store: new CosmosResourceStore(resources) },
      { jobId: c.jobPath('unheard'), clusterId: c.clusterId, attempt: 1 },
    );
    assert.deepEqual(tasks, [{ nodeId, taskId: `${uid}.master` }], 'the tasks its plan puts on the node');

    const terminate = await c.api.call('POST', `${c.jobPath('unheard')}/terminate`);
    assert.equal(terminate.status, 202, terminate.text);
    const ended = await waitForJob(c.api, c.jobPath('unheard'), ['succeeded', 'failed'], 60_000);
    assert.equal(ended.executionInfo?.errors?.[0]?.code, 'JobTerminated', JSON.stringify(ended));
    // Its task was told to stop on the node before the node went back (here it had never come: the agent says so
    // at once, and would not run it if it came now).
    await waitFor(
      "the agent to hear the job's kill",
      async () =>
        (await agentLog('killTask before its runTask: the task will not run')).some(
          (e) => e.taskId === `${uid}.master`,
        ),
      30_000,
      100,
    );
    await submitJob(c.api, c.jobPath('after-unheard'), echo('after-unheard'));
    const next = await waitForJob(c.api, c.jobPath('after-unheard'), ['succeeded', 'failed'], 60_000);
    assert.equal(next.executionState, 'succeeded', JSON.stringify(next));
  }));
