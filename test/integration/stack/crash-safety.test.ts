import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitForNodes } from '../clusters/harness.js';
import { hostCluster, type JobCluster } from '../jobs/harness.js';
import {
  checkpointJobProblems,
  runningNodeOf,
  ScheduleSampler,
  submitCheckpointJob,
  waitForEnd,
} from './crash-harness.js';

// Issue 9 §4: kill -9 one of our own processes — the Functions host, a VM (its agent and the job's processes), the
// compute emulator, Cosmos, Azurite — while checkpointing jobs are queued and running on a 2-node cluster, then
// bring it back. After each: every job succeeded with all of its steps, no two attempts of a job ever ran at once
// (the job itself checks, with the pid of the attempt it finds), and no schedule document in Cosmos ever gave a node
// to two jobs or held a job twice (sampled throughout).

let stack: TestStack;
let c: JobCluster;
let sampler: ScheduleSampler;

const JOBS = 3; // on 2 nodes: one waits in the queue while two run
const STEPS = 6;
const STEP_SECONDS = 0.4;

before(async () => {
  stack = await startTestStack();
  c = await hostCluster(stack, 2, 'crash', 'c');
  sampler = new ScheduleSampler(stack);
});
after(async () => {
  await sampler?.stop();
  await stack?.dispose();
});

async function crashWhileJobsRun(name: string, crash: (runningNode: string) => Promise<void>): Promise<void> {
  await withServiceOutput(stack, async () => {
    const paths: string[] = [];
    for (let i = 1; i <= JOBS; i++) paths.push(await submitCheckpointJob(c, `${name}-${i}`, STEPS, STEP_SECONDS));
    const node = await runningNodeOf(c.api, paths[0]!);
    const samplesBefore = sampler.samples;
    await crash(node);
    const problems: string[] = [];
    for (const path of paths) {
      const job = await waitForEnd(c.api, path, 240_000).catch((err) => {
        throw new Error(`${(err as Error).message}\nschedule: ${JSON.stringify(sampler.latest)}`);
      });
      problems.push(...(await checkpointJobProblems(c.api, path, job, STEPS)));
    }
    assert.deepEqual(problems, []);
    // The cluster is whole again (a lost node replaced) before the next crash.
    await waitForNodes(c.api, c.clusterPath, { idleNodeCount: 2, steady: true }, 180_000);
    assert.ok(sampler.samples > samplesBefore, 'the schedule was sampled while the jobs ran');
    assert.deepEqual(sampler.violations, []);
  });
}

const killAndRestart = (service: string) => async () => {
  await stack.supervisor.kill(service);
  await stack.supervisor.restart(service);
};

const t = (name: string, body: () => Promise<void>) => test(name, { timeout: 420_000 }, body);

t('kill -9 of the Functions host', () => crashWhileJobsRun('host', killAndRestart('functions')));

t('kill -9 of a VM running a job (its agent and the job processes)', () =>
  crashWhileJobsRun('vm', async (node) => {
    const [scaleSet, instanceId] = node.split('_') as [string, string];
    const r = await fetch(new URL(`/admin/vms/${scaleSet}/${instanceId}/faults`, stack.descriptor.compute!.endpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'hostCrash' }),
    });
    assert.equal(r.status, 200, await r.text());
  }),
);

t('kill -9 of the compute emulator (every VM goes with it)', () =>
  crashWhileJobsRun('compute', killAndRestart('compute')),
);

t('kill -9 of Cosmos', () => crashWhileJobsRun('cosmos', killAndRestart('cosmos')));

t('kill -9 of Azurite', () => crashWhileJobsRun('azurite', killAndRestart('azurite')));
