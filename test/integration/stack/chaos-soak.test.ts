import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { computeClient, emulatorVms, waitForNodes } from '../clusters/harness.js';
import { getJob, hostCluster, type JobCluster, remoteLogins } from '../jobs/harness.js';
import { checkpointJobProblems, ScheduleSampler, submitCheckpointJob, waitForEnd } from './crash-harness.js';

// Issue 9 §6: a stream of checkpointing jobs on a low-priority cluster while a seeded random schedule evicts VMs
// (simulateEviction), kills agents (SIGKILL behind the emulator's back; the job's processes die with them) and
// kills and restarts the Functions host. Every job must end succeeded with all of its steps, no two attempts of a
// job may ever run at once (the job checks), and no schedule document may ever give a node to two jobs (sampled
// from Cosmos throughout). Replay a failure with CHAOS_SEED=<the printed seed>.

const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const JOBS = 10;
const STEPS = 5;
const STEP_SECONDS = 0.4;
const FAULTS = 6;

/** mulberry32: small, seedable, good enough to pick faults and delays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let stack: TestStack;
let c: JobCluster;
let sampler: ScheduleSampler;

before(async () => {
  console.log(`chaos soak seed: ${SEED} (replay with CHAOS_SEED=${SEED})`);
  stack = await startTestStack();
  c = await hostCluster(stack, 2, 'chaos', 'c', 'lowpriority');
  sampler = new ScheduleSampler(stack);
});
after(async () => {
  await sampler?.stop();
  await stack?.dispose();
});

type Fault = 'evict' | 'killAgent' | 'restartHost';
const FAULT_KINDS: readonly Fault[] = ['evict', 'killAgent', 'restartHost'];

test(`chaos soak (seed ${SEED}): evictions, agent kills and host restarts lose no job`, { timeout: 480_000 }, () =>
  withServiceOutput(stack, async () => {
    const rand = random(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    const paths: string[] = [];

    // The stream: a job every ~1 s, each PUT retried through a host restart (a PUT of the same job is idempotent).
    const submitting = (async () => {
      for (let i = 1; i <= JOBS; i++) {
        for (;;) {
          try {
            paths.push(await submitCheckpointJob(c, `job-${i}`, STEPS, STEP_SECONDS));
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 250));
          }
        }
        await new Promise((r) => setTimeout(r, 500 + rand() * 1000));
      }
    })();

    /** The node of a running job, if any (so that most faults hit work in progress), else any VM that is up. */
    const victim = async (): Promise<{ scaleSet: string; instanceId: string } | undefined> => {
      for (const path of [...paths].sort(() => rand() - 0.5)) {
        const job = await getJob(c.api, path).catch(() => undefined);
        if (job?.executionState !== 'running') continue;
        const [node] = await remoteLogins(c.api, path).catch(() => []);
        if (node) {
          const [scaleSet, instanceId] = node.nodeId.split('_') as [string, string];
          return { scaleSet, instanceId };
        }
      }
      const up = (await emulatorVms(stack)).filter((v) => v.pid && v.powerState === 'running');
      return up.length ? pick(up) : undefined;
    };

    const log: string[] = [];
    for (let f = 0; f < FAULTS; f++) {
      await new Promise((r) => setTimeout(r, 2000 + rand() * 3000));
      const kind = pick(FAULT_KINDS);
      if (kind === 'restartHost') {
        await stack.supervisor.kill('functions');
        await stack.supervisor.restart('functions');
        log.push(`${f}: host restarted`);
        continue;
      }
      const vm = await victim();
      if (!vm) {
        log.push(`${f}: ${kind}: no VM up`);
        continue;
      }
      if (kind === 'evict') {
        await computeClient(stack)
          .virtualMachineScaleSetVMs.simulateEviction(stack.descriptor.resourceGroup, vm.scaleSet, vm.instanceId)
          .catch((err: unknown) => log.push(`${f}: evict failed: ${String(err)}`));
      } else {
        const url = new URL(`/admin/vms/${vm.scaleSet}/${vm.instanceId}/faults`, stack.descriptor.compute!.endpoint);
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ kind: 'killAgent' }),
        });
      }
      log.push(`${f}: ${kind} ${vm.scaleSet}_${vm.instanceId}`);
    }
    await submitting;
    console.log(`chaos soak faults: ${log.join('; ')}`);

    const problems: string[] = [];
    for (const path of paths) {
      const job = await waitForEnd(c.api, path, 300_000);
      problems.push(...(await checkpointJobProblems(c.api, path, job, STEPS)));
    }
    assert.equal(paths.length, JOBS);
    assert.deepEqual(problems, [], `seed ${SEED}; faults: ${log.join('; ')}`);
    // The cluster keeps its size through the losses.
    await waitForNodes(c.api, c.clusterPath, { idleNodeCount: 2, steady: true }, 180_000);
    assert.ok(sampler.samples > 0, 'the schedule documents were sampled');
    assert.deepEqual(sampler.violations, [], `seed ${SEED}`);
  }),
);
