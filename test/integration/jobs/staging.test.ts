import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CosmosScheduleStore } from '../../../shared/cosmos/cosmos-schedule-store.js';
import type { ClusterSchedule } from '../../../shared/domain/scheduling.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { getJob, hostCluster, type JobCluster, jobBody, scheduleStore, submitJob, waitForJob } from './harness.js';

// Staged jobs (decision 0120) on a real 1-node cluster: the next job is sent to the busy node ahead and its agent
// starts it when the running job's process ends; a job arriving ahead of a staged one in queue order takes its
// place (the agent gives the staged one back); a staged job terminated never runs and leaves the node usable.
// Each job records its process's start and end (date +%s%N) in a directory the test reads; every wait is for a
// state in Cosmos or the API, or for a file.

let stack: TestStack;
let c: JobCluster;
let dir: string;
let schedules: CosmosScheduleStore;

before(async () => {
  stack = await startTestStack();
  c = await hostCluster(stack, 1);
  dir = await mkdtemp(join(tmpdir(), 'staging-'));
  schedules = scheduleStore(stack);
});
after(() => stack?.dispose());

/** Writes <name>.start, waits for the gate <name>.go if asked, then writes <name>.end. */
const recorded = (name: string, gated = false) =>
  [
    `date +%s%N > ${join(dir, `${name}.start`)}`,
    gated ? `while [ ! -e ${join(dir, `${name}.go`)} ]; do sleep 0.05; done` : 'true',
    `date +%s%N > ${join(dir, `${name}.end`)}`,
  ].join('; ');
const stamp = async (name: string, what: 'start' | 'end') =>
  BigInt((await readFile(join(dir, `${name}.${what}`), 'utf8')).trim());
const release = (name: string) => writeFile(join(dir, `${name}.go`), '');
const schedule = () => schedules.read(c.clusterId);
const named = (name: string) => (e: { jobId: string }) => e.jobId.endsWith(`/jobs/${name}`);

async function until(what: string, ok: (doc: ClusterSchedule) => boolean): Promise<ClusterSchedule> {
  let last: ClusterSchedule | undefined;
  await waitFor(
    what,
    async () => {
      last = await schedule();
      return ok(last);
    },
    120_000,
    100,
  );
  return last!;
}

async function succeeded(name: string) {
  const done = await waitForJob(c.api, c.jobPath(name), ['succeeded', 'failed'], 180_000);
  assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
  return done;
}

test('a job staged behind a running one starts on its node once the running one ends, never alongside it', () =>
  withServiceOutput(stack, async () => {
    await submitJob(
      c.api,
      c.jobPath('a'),
      jobBody(c.clusterId, { customToolkitSettings: { commandLine: recorded('a', true) } }),
    );
    await waitForJob(c.api, c.jobPath('a'), ['running']);
    await submitJob(
      c.api,
      c.jobPath('b'),
      jobBody(c.clusterId, { customToolkitSettings: { commandLine: recorded('b') } }),
    );
    const doc = await until('b staged behind a', (d) => (d.staged ?? []).some(named('b')));
    const staged = doc.staged!.find(named('b'))!;
    assert.ok(staged.behind.jobId.endsWith('/jobs/a'), JSON.stringify(staged));
    assert.equal(staged.revoke, undefined);
    assert.equal((await getJob(c.api, c.jobPath('b')))?.executionState, 'queued', 'staged is queued to the user');

    await release('a');
    await succeeded('a');
    const b = await succeeded('b');
    assert.ok((await stamp('b', 'start')) > (await stamp('a', 'end')), 'b started after a ended');
    assert.ok(b.executionInfo?.startTime, 'promoted: it has a start time');
    const after = await schedule();
    assert.deepEqual(after.staged ?? [], []);
    assert.deepEqual(after.allocations, []);
  }));

test('a job arriving ahead of a staged one takes its place: the staged one is given back and runs after it', () =>
  withServiceOutput(stack, async () => {
    await submitJob(
      c.api,
      c.jobPath('hold'),
      jobBody(c.clusterId, { customToolkitSettings: { commandLine: recorded('hold', true) } }),
    );
    await waitForJob(c.api, c.jobPath('hold'), ['running']);
    await submitJob(
      c.api,
      c.jobPath('low'),
      jobBody(c.clusterId, { schedulingPriority: 'low', customToolkitSettings: { commandLine: recorded('low') } }),
    );
    await until('low staged', (d) => (d.staged ?? []).some(named('low')));
    await submitJob(
      c.api,
      c.jobPath('high'),
      jobBody(c.clusterId, { schedulingPriority: 'high', customToolkitSettings: { commandLine: recorded('high') } }),
    );
    const doc = await until(
      'high staged in place of low, low back in the queue',
      (d) => (d.staged ?? []).some(named('high')) && d.queue.some(named('low')),
    );
    assert.equal(doc.queue.find(named('low'))?.unstageable, true, 'given back, it starts the ordinary way');
    assert.equal((doc.staged ?? []).length, 1);

    await release('hold');
    await Promise.all(['hold', 'high', 'low'].map(succeeded));
    assert.ok((await stamp('high', 'start')) > (await stamp('hold', 'end')));
    assert.ok((await stamp('low', 'start')) > (await stamp('high', 'end')), 'low ran after high, never alongside');
  }));

test('a staged job terminated never runs, and the node takes the next job', () =>
  withServiceOutput(stack, async () => {
    await submitJob(
      c.api,
      c.jobPath('keep'),
      jobBody(c.clusterId, { customToolkitSettings: { commandLine: recorded('keep', true) } }),
    );
    await waitForJob(c.api, c.jobPath('keep'), ['running']);
    await submitJob(
      c.api,
      c.jobPath('cancel'),
      jobBody(c.clusterId, { customToolkitSettings: { commandLine: recorded('cancel') } }),
    );
    await until('cancel staged', (d) => (d.staged ?? []).some(named('cancel')));

    const r = await c.api.call('POST', `${c.jobPath('cancel')}/terminate`);
    assert.equal(r.status, 202, r.text);
    const ended = await waitForJob(c.api, c.jobPath('cancel'), ['succeeded', 'failed']);
    assert.equal(ended.executionInfo?.errors?.[0]?.code, 'JobTerminated', JSON.stringify(ended));
    assert.equal(ended.executionInfo?.startTime, undefined, 'it never started');
    // The agent answered (dropped) and the entry is gone while `keep` still runs.
    await until('the cancelled entry gone', (d) => (d.staged ?? []).length === 0);

    await submitJob(
      c.api,
      c.jobPath('next'),
      jobBody(c.clusterId, { customToolkitSettings: { commandLine: recorded('next') } }),
    );
    await until('next staged', (d) => (d.staged ?? []).some(named('next')));
    await release('keep');
    await Promise.all(['keep', 'next'].map(succeeded));
    // `next` ran, so `cancel` would have run by then had it not been dropped (the agent runs in order).
    await assert.rejects(readFile(join(dir, 'cancel.start')), /ENOENT/, 'the terminated job never ran');
  }));
