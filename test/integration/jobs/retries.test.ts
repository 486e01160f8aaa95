import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import {
  getJob,
  hostCluster,
  type JobCluster,
  jobBody,
  listOutputs,
  remoteLogins,
  submitJob,
  waitForJob,
} from './harness.js';

// Retries and caps (docs/failures.md "Retries and caps"): the job's own failures under `x-batchai-retryPolicy`, and
// infrastructure failures counted by kind. The app's infrastructure cap is 2 here (the first host crash or lost node
// is requeued at once, the second after a 1 s back-off, the third fails the job), so every case stays short;
// preemptions are not capped.

let stack: TestStack;
let c: JobCluster;
const env = { BATCHAI_INFRA_RETRY_LIMIT: '2', BATCHAI_INFRA_RETRY_BACKOFF_MS: '1000' };

before(async () => {
  Object.assign(process.env, env);
  stack = await startTestStack();
  c = await hostCluster(stack, 2);
});
after(async () => {
  for (const name of Object.keys(env)) delete process.env[name];
  await stack?.dispose();
});

const t = (name: string, body: () => Promise<void>) =>
  test(name, { timeout: 300_000 }, () => withServiceOutput(stack, body));

interface Attempt {
  attempt: number;
  kind: string;
  code: string;
  message: string;
  countsAgainstCap?: boolean;
  outcome?: string;
  exitCode?: number;
  retryNotBefore?: string;
  endTime: string;
}
const attemptsOf = (job: unknown) =>
  ((job as { 'x-batchai-attempts'?: Attempt[] })['x-batchai-attempts'] ?? []) as Attempt[];

/** A file of the job's OUT directory, through listOutputFiles and its download link. */
async function outputFile(path: string, name: string): Promise<string | undefined> {
  const f = (await listOutputs(c.api, path, 'OUT')).value.find((x) => x.name === name);
  return f?.downloadUrl ? (await fetch(f.downloadUrl)).text() : undefined;
}

async function fault(nodeId: string, kind: 'hostCrash' | 'evict' | 'killAgent'): Promise<void> {
  const [scaleSet, instanceId] = nodeId.split('_') as [string, string];
  const r = await fetch(
    `${stack.descriptor.compute!.endpoint.replace(/\/+$/, '')}/admin/vms/${scaleSet}/${instanceId}/faults`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind }),
    },
  );
  assert.ok(r.ok, `fault ${kind}: ${r.status} ${await r.text()}`);
}

/** Waits for the job to end; on a timeout, says what its output directory and the VMs' agents last said. */
async function waitForEnd(path: string) {
  try {
    return await waitForJob(c.api, path, ['succeeded', 'failed'], 180_000);
  } catch (err) {
    const logs = join(stack.dataDir, 'compute', 'logs');
    const tails: string[] = [];
    for (const dir of await readdir(logs, { recursive: true }).catch(() => [] as string[])) {
      if (!dir.endsWith('.log')) continue;
      const text = await readFile(join(logs, dir), 'utf8').catch(() => '');
      tails.push(`--- ${dir}\n${text.split('\n').slice(-15).join('\n')}`);
    }
    const count = await outputFile(path, 'count').catch((e) => String(e));
    const uid = (await getJob(c.api, path))?.jobOutputDirectoryPathSegment.split('/').pop();
    const f = stack.descriptor.functions!;
    const status = await fetch(
      `${f.durableWebhookBaseUrl.replace(/\/+$/, '')}/instances/job-${uid}?showHistory=true&code=${f.masterKey ?? ''}`,
    )
      .then((r) => r.text())
      .catch((e) => String(e));
    const logins = await remoteLogins(c.api, path).catch((e) => String(e));
    throw new Error(
      `${(err as Error).message}\nlifecycle: ${status.slice(0, 6000)}\ncount: ${count}\nnodes: ${JSON.stringify(logins)}\nagents:\n${tails.join('\n')}`,
    );
  }
}

/** Waits until `attempt` of the job runs (the count its command wrote to OUT/count says so), and returns its node. */
async function runningAttempt(path: string, attempt: number): Promise<string> {
  return waitFor(
    `attempt ${attempt} of ${path} to run`,
    async () => {
      const job = await getJob(c.api, path);
      if (job?.executionState !== 'running') return false;
      if ((await outputFile(path, 'count'))?.trim() !== String(attempt)) return false;
      const logins = await remoteLogins(c.api, path);
      return logins.length === 1 && logins[0]!.nodeId;
    },
    180_000,
    100,
  );
}

// Counts its runs in OUT/count (the directory every attempt shares), then does `rest`.
const counting = (rest: string) =>
  `n=$(cat $AZ_BATCHAI_OUTPUT_OUT/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > $AZ_BATCHAI_OUTPUT_OUT/count; ${rest}`;

t('exit 3 with retryOnExitCodes [3] and maxRetries 2: runs 3 times, then fails with exit code 3', async () => {
  const path = c.jobPath('exit3');
  const policy = { maxRetries: 2, retryOnExitCodes: [3] };
  await submitJob(
    c.api,
    path,
    jobBody(c.clusterId, {
      customToolkitSettings: { commandLine: counting('exit 3') },
      'x-batchai-retryPolicy': policy,
    }),
  );
  const done = await waitForJob(c.api, path, ['succeeded', 'failed'], 180_000);
  assert.equal(done.executionState, 'failed', JSON.stringify(done));
  assert.equal(done.executionInfo?.exitCode, 3);
  assert.equal(done.executionInfo?.errors?.[0]?.code, 'JobFailed');
  const attempts = attemptsOf(done);
  assert.deepEqual(
    attempts.map((a) => [a.attempt, a.kind, a.code, a.exitCode, a.countsAgainstCap, a.outcome]),
    [
      [1, 'job', 'JobFailed', 3, true, 'requeued'],
      [2, 'job', 'JobFailed', 3, true, 'requeued'],
      [3, 'job', 'JobFailed', 3, true, 'failed'],
    ],
  );
  assert.equal((await outputFile(path, 'count'))?.trim(), '3', 'three runs, sharing one output directory');
  // The policy is shown back as it was given.
  const r = await c.api.call<{ properties: Record<string, unknown> }>('GET', path);
  assert.deepEqual(r.body.properties['x-batchai-retryPolicy'], policy);
});

t('a job that fails once and succeeds on its 2nd attempt from a file it left in its output directory', async () => {
  const path = c.jobPath('second-time');
  await submitJob(
    c.api,
    path,
    jobBody(c.clusterId, {
      customToolkitSettings: {
        commandLine: counting('if [ "$n" -ge 2 ]; then echo resumed; exit 0; fi; exit 5'),
      },
      'x-batchai-retryPolicy': { maxRetries: 3 },
    }),
  );
  const done = await waitForJob(c.api, path, ['succeeded', 'failed'], 180_000);
  assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
  assert.equal(done.executionInfo?.exitCode, 0);
  assert.deepEqual(
    attemptsOf(done).map((a) => [a.attempt, a.kind, a.exitCode, a.outcome]),
    [[1, 'job', 5, 'requeued']],
  );
  assert.equal((await outputFile(path, 'count'))?.trim(), '2');
});

t('a malformed retry policy is rejected with the reason', async () => {
  const r = await c.api.call<{ error: { details?: Array<{ target?: string; message: string }> } }>(
    'PUT',
    c.jobPath('bad-policy'),
    {
      body: jobBody(c.clusterId, {
        customToolkitSettings: { commandLine: 'true' },
        'x-batchai-retryPolicy': { maxRetries: 50 },
      }),
    },
  );
  assert.equal(r.status, 400, r.text);
  assert.ok(
    r.body.error.details?.some((d) => d.target === 'properties.x-batchai-retryPolicy.maxRetries'),
    r.text,
  );
});

t('host crashes beyond the cap (2): requeued at once, then after a back-off, then failed with the reason', async () => {
  const path = c.jobPath('crashes');
  await submitJob(c.api, path, jobBody(c.clusterId, { customToolkitSettings: { commandLine: counting('sleep 600') } }));
  await fault(await runningAttempt(path, 1), 'hostCrash');
  const second = await runningAttempt(path, 2);
  const once = attemptsOf(await getJob(c.api, path));
  assert.deepEqual(
    once.map((a) => [a.kind, a.code, a.countsAgainstCap, a.outcome, a.retryNotBefore]),
    [['infrastructure', 'NodeHostCrashed', true, 'requeued', undefined]],
    'the first capped failure is retried at once',
  );
  await fault(second, 'hostCrash');
  const third = await runningAttempt(path, 3);
  const twice = attemptsOf(await getJob(c.api, path));
  assert.equal(twice.length, 2, JSON.stringify(twice));
  // The back-off: the third attempt could not start before the second's endTime + 1 s.
  assert.equal(Date.parse(twice[1]!.retryNotBefore!) - Date.parse(twice[1]!.endTime), 1000);

  await fault(third, 'hostCrash');
  const done = await waitForEnd(path);
  assert.equal(done.executionState, 'failed', JSON.stringify(done));
  const error = done.executionInfo?.errors?.[0];
  assert.equal(error?.code, 'InfrastructureFailureLimitReached', JSON.stringify(done));
  assert.match(error!.message, /3 times .*limit of 2/);
  assert.deepEqual(
    attemptsOf(done).map((a) => [a.attempt, a.code, a.countsAgainstCap, a.outcome]),
    [
      [1, 'NodeHostCrashed', true, 'requeued'],
      [2, 'NodeHostCrashed', true, 'requeued'],
      [3, 'NodeHostCrashed', true, 'failed'],
    ],
    JSON.stringify(attemptsOf(done)),
  );
});

t('preemptions beyond the cap are still requeued, at once, and the job then succeeds', async () => {
  const path = c.jobPath('preempted');
  await submitJob(
    c.api,
    path,
    jobBody(c.clusterId, {
      customToolkitSettings: { commandLine: counting('if [ "$n" -ge 3 ]; then exit 0; fi; sleep 600') },
    }),
  );
  await fault(await runningAttempt(path, 1), 'evict');
  await fault(await runningAttempt(path, 2), 'evict');
  const done = await waitForEnd(path);
  assert.equal(done.executionState, 'succeeded', JSON.stringify(done));
  const attempts = attemptsOf(done);
  assert.deepEqual(
    attempts.map((a) => [a.attempt, a.kind, a.code, a.countsAgainstCap, a.outcome]),
    [
      [1, 'infrastructure', 'NodePreempted', false, 'requeued'],
      [2, 'infrastructure', 'NodePreempted', false, 'requeued'],
    ],
    JSON.stringify(attempts),
  );
  assert.ok(
    attempts.every((a) => a.retryNotBefore === undefined),
    'no back-off after a preemption',
  );
  assert.equal((await outputFile(path, 'count'))?.trim(), '3');
});
