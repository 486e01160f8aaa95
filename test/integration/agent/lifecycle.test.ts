// The real agent process against a real Azurite: registration, heartbeats, commands (stale boots, redelivery,
// bad messages), tasks (runTask / killTask), setup tasks with variables and sealed secrets, and its lifecycle
// (SIGTERM, parent death).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sealForNode } from '../../../shared/secrets/seal-for-node.js';
import { processAlive } from '../../support/processes.js';
import { AgentHarness, command, waitFor } from './harness.js';

let h: AgentHarness;
before(async () => {
  h = await AgentHarness.start();
});
after(async () => {
  await h?.dispose();
});

test('an agent registers with its identity and key, then heartbeats with increasing seq', async () => {
  const agent = await h.startAgent({ instanceId: '3' });
  const reg = await agent.registered();
  assert.equal(reg.node.instanceId, '3');
  assert.equal(reg.node.scaleSetName, agent.scaleSet);
  assert.equal(reg.node.vmId, agent.vmId);
  assert.equal(reg.ipAddress, '127.0.0.1');
  assert.equal(reg.port, 50022);
  assert.equal(reg.vmSize, 'STANDARD_D2_V2');
  assert.equal(reg.cores, 2);
  assert.equal(reg.setup, 'none');
  assert.deepEqual(reg.tasks, []);
  assert.ok(Buffer.from(reg.publicKey, 'base64').length > 32, 'an X25519 SPKI key');
  await waitFor('two heartbeats', () => agent.events().filter((e) => e.kind === 'heartbeat').length >= 2, 30_000);
  const seqs = agent.events().map((e) => e.seq);
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, i) => i),
    'seq counts 0, 1, 2, … in the order events arrive',
  );
  assert.ok(agent.events().every((e) => e.node.bootId === reg.node.bootId));
});

test('runTask runs bash -c with the env, files and output files; killTask kills its whole process group', async () => {
  const agent = await h.startAgent();
  const reg = await agent.registered();
  const out = '$AZ_BATCHAI_MOUNT_ROOT/../jobs/j1/stdouterr';
  await h.send(
    agent,
    command(reg, {
      kind: 'runTask',
      jobId: 'j1',
      attempt: 1,
      taskId: '0',
      // One argv element for bash: quotes, semicolons and $ reach bash as the user wrote them.
      commandLine: 'echo "greeting=$GREETING"; cat "$AZ_BATCHAI_JOB_TEMP/hostfile"; echo oops >&2; exit 7',
      workingDirectory: '$AZ_BATCHAI_JOB_TEMP/wd',
      environmentVariables: [
        { name: 'GREETING', value: 'hello world' },
        { name: 'AZ_BATCHAI_JOB_TEMP', value: '/mnt/batch/tasks/shared/LS_root/jobs/j1' },
      ],
      secrets: [],
      stdOutErrDirectory: out,
      files: [{ path: 'hostfile', content: 'node-0 slots=1\n' }],
    }),
  );
  const started = await agent.event('taskStarted', (e) => e.jobId === 'j1');
  assert.equal(started.attempt, 1);
  const exited = await agent.event('taskExited', (e) => e.jobId === 'j1');
  assert.equal(exited.exitCode, 7);
  assert.equal(exited.signal, null);
  const dir = join(agent.disk, 'mnt/batch/tasks/shared/LS_root/jobs/j1/stdouterr');
  assert.equal(await readFile(join(dir, 'stdout.txt'), 'utf8'), 'greeting=hello world\nnode-0 slots=1\n');
  assert.equal(await readFile(join(dir, 'stderr.txt'), 'utf8'), 'oops\n');

  // A long task that starts a child of its own: killTask must take both.
  await h.send(
    agent,
    command(reg, {
      kind: 'runTask',
      jobId: 'j2',
      attempt: 2,
      taskId: '1',
      commandLine: 'sleep 300 & echo $! > child.pid; wait',
      workingDirectory: '/mnt/batch/tasks/shared/LS_root/jobs/j2/wd',
      environmentVariables: [],
      secrets: [],
      stdOutErrDirectory: '/mnt/batch/tasks/shared/LS_root/jobs/j2/stdouterr',
      files: [],
    }),
  );
  await agent.event('taskStarted', (e) => e.jobId === 'j2');
  const pidFile = join(agent.disk, 'mnt/batch/tasks/shared/LS_root/jobs/j2/wd/child.pid');
  const childPid = Number(
    await waitFor('the task to start its child', () => readFile(pidFile, 'utf8').catch(() => undefined)),
  );
  const hb = await agent.event('heartbeat', (e) => e.tasks.some((t) => t.jobId === 'j2'));
  assert.deepEqual(hb.tasks, [{ jobId: 'j2', attempt: 2, taskId: '1' }]);
  await h.send(agent, command(reg, { kind: 'killTask', jobId: 'j2', attempt: 2, taskId: '1' }));
  const killed = await agent.event('taskExited', (e) => e.jobId === 'j2');
  assert.equal(killed.exitCode, null);
  assert.equal(killed.signal, 'SIGTERM');
  await waitFor('the task child to be gone', () => !processAlive(childPid), 10_000);
  assert.equal(
    await readFile(join(agent.disk, 'mnt/batch/tasks/shared/LS_root/jobs/j2/stdouterr/stdout.txt'), 'utf8'),
    '',
  );
});

test('commands for another boot are dropped, a redelivered command runs once, a bad message is dropped', async () => {
  const agent = await h.startAgent();
  const reg = await agent.registered();
  const counter = join(agent.disk, 'count.txt');
  const task = (jobId: string, commandId?: string) =>
    command(reg, {
      kind: 'runTask',
      jobId,
      attempt: 1,
      taskId: '0',
      commandLine: `echo ${jobId} >> '${counter}'`,
      workingDirectory: '/tmp-wd',
      environmentVariables: [],
      secrets: [],
      stdOutErrDirectory: '/out',
      files: [],
      ...(commandId ? { commandId } : {}),
    });
  await h.send(agent, 'this is not json');
  await h.send(agent, { v: 1, kind: 'runTask', bootId: reg.node.bootId, commandId: 'x' });
  await h.send(agent, { ...task('stale'), bootId: 'a-previous-boot' });
  const once = task('once', 'command-1');
  await h.send(agent, once);
  await h.send(agent, once);
  // Sent last: once its exit is reported, everything before it has been handled (one queue, handled in order).
  await h.send(agent, task('marker'));
  await agent.event('taskExited', (e) => e.jobId === 'marker');
  await agent.event('taskExited', (e) => e.jobId === 'once');
  const lines = (await readFile(counter, 'utf8')).split('\n').filter(Boolean).sort();
  assert.deepEqual(lines, ['marker', 'once']);
  assert.equal(agent.events().filter((e) => e.kind === 'taskStarted' && e.jobId === 'once').length, 1);
  assert.ok(!agent.events().some((e) => e.kind === 'taskStarted' && e.jobId === 'stale'));
  assert.equal(agent.child.exitCode, null, 'bad messages do not crash the agent');
  const queue = h.queues.getQueueClient(`node-${agent.scaleSet}-0`);
  const left = await waitFor('the command queue to be empty', async () => {
    const props = await queue.getProperties();
    return props.approximateMessagesCount === 0 ? true : undefined;
  });
  assert.equal(left, true, 'every message, good or bad, is deleted once handled');
});

test('a setup task gets its variables and an opened secret; the queue only ever carries ciphertext', async () => {
  const agent = await h.startAgent();
  const reg = await agent.registered();
  const secret = `s3cret-${Math.random().toString(36).slice(2)}`;
  const cmd = command(reg, {
    kind: 'setup',
    setupId: 'setup-1',
    mounts: [],
    setupTask: {
      commandLine: 'echo "$PLAIN/$TOKEN" > "$AZ_BATCHAI_MOUNT_ROOT/../seen.txt"; echo done',
      runElevated: false,
      environmentVariables: [{ name: 'PLAIN', value: 'visible' }],
      secrets: [{ name: 'TOKEN', value: sealForNode(reg.publicKey, secret) }],
      stdOutErrDirectory: '$AZ_BATCHAI_MOUNT_ROOT/../setup/stdouterr',
    },
  });
  const wire = JSON.stringify(cmd);
  assert.ok(!wire.includes(secret), 'the command holds no clear secret');
  await h.send(agent, cmd);
  const ok = await agent.event('setupSucceeded');
  assert.equal(ok.setupId, 'setup-1');
  const shared = join(agent.disk, 'mnt/batch/tasks/shared/LS_root');
  assert.equal(await readFile(join(shared, 'seen.txt'), 'utf8'), `visible/${secret}\n`);
  assert.equal(await readFile(join(shared, 'setup/stdouterr/stdout.txt'), 'utf8'), 'done\n');
  assert.ok(!h.rawEvents.some((t) => t.includes(secret)), 'no event carries the secret');
  assert.ok(!agent.output.join('').includes(secret), "the agent's log does not carry the secret");

  // The same setup asked again: reported again, not run again.
  await h.send(agent, { ...cmd, commandId: 'another-command-id' });
  await waitFor(
    'the second setupSucceeded',
    () => agent.events().filter((e) => e.kind === 'setupSucceeded').length === 2,
  );
});

test('a failing setup task reports SetupTaskFailed with its exit code and the tail of stderr', async () => {
  const agent = await h.startAgent();
  const reg = await agent.registered();
  await h.send(
    agent,
    command(reg, {
      kind: 'setup',
      setupId: 'setup-bad',
      mounts: [],
      setupTask: {
        commandLine: 'echo "apt-get: package foo not found" >&2; exit 42',
        runElevated: true,
        environmentVariables: [],
        secrets: [],
        stdOutErrDirectory: '/mnt/batch/tasks/startup',
      },
    }),
  );
  const failed = await agent.event('setupFailed');
  assert.equal(failed.setupId, 'setup-bad');
  assert.equal(failed.error.code, 'SetupTaskFailed');
  assert.match(failed.error.message, /exited with code 42/);
  assert.match(failed.error.message, /package foo not found/);
  const details = Object.fromEntries((failed.error.details ?? []).map((d) => [d.name, d.value]));
  assert.equal(details.exitCode, '42');
  assert.match(details.stderr ?? '', /package foo not found/);
});

test('SIGTERM: the agent reports stopping, kills its tasks and exits 0 within a few seconds', async () => {
  const agent = await h.startAgent();
  const reg = await agent.registered();
  await h.send(
    agent,
    command(reg, {
      kind: 'runTask',
      jobId: 'long',
      attempt: 1,
      taskId: '0',
      commandLine: 'echo $$ > task.pid; exec sleep 300',
      workingDirectory: '/wd-long',
      environmentVariables: [],
      secrets: [],
      stdOutErrDirectory: '/out-long',
      files: [],
    }),
  );
  await agent.event('taskStarted', (e) => e.jobId === 'long');
  const taskPid = Number(
    await waitFor('the task pid', () => readFile(join(agent.disk, 'wd-long/task.pid'), 'utf8').catch(() => undefined)),
  );
  agent.child.kill('SIGTERM');
  const exit = await agent.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  const stopping = await agent.event('stopping');
  assert.equal(stopping.reason, 'shutdown');
  await agent.event('taskExited', (e) => e.jobId === 'long');
  assert.ok(!processAlive(taskPid), 'the task is gone');
});

test('when its parent (the VM host) dies, the agent exits on its own', async () => {
  const host = await h.startAgent({ viaHostProcess: true });
  const pid = Number(await waitFor('the agent pid', () => /^(\d+)$/m.exec(host.output.join(''))?.[1]));
  await host.registered();
  assert.ok(processAlive(pid));
  host.child.kill('SIGKILL');
  await waitFor('the orphaned agent to exit', () => !processAlive(pid), 15_000);
});

test('a containerSettings task on a node without a container engine fails to start with the reason', async () => {
  // This machine has the docker CLI but no daemon; what the agent says must match what docker says here.
  const engine = await new Promise<string | undefined>((resolve) =>
    execFile('docker', ['version', '--format', '{{.Server.Version}}'], (err, _o, stderr) =>
      resolve(err ? stderr.trim() || err.message : undefined),
    ),
  );
  const agent = await h.startAgent();
  const reg = await agent.registered();
  assert.equal(reg.containerEngine, engine === undefined, 'registered says whether containers can run here');
  await h.send(
    agent,
    command(reg, {
      kind: 'runTask',
      jobId: 'in-container',
      attempt: 1,
      taskId: '0',
      commandLine: 'true',
      workingDirectory: '/wd',
      environmentVariables: [],
      secrets: [],
      stdOutErrDirectory: '/out',
      files: [],
      container: { image: 'batchai/never-pulled:1.0', shmSize: '1g' },
    }),
  );
  const exited = await agent.event('taskExited', (e) => e.jobId === 'in-container', 60_000);
  if (engine === undefined) {
    assert.notEqual(exited.error?.code, 'ContainerEngineUnavailable', 'docker works here, so the agent must try it');
  } else {
    assert.equal(exited.error?.code, 'ContainerEngineUnavailable');
    assert.match(exited.error?.message ?? '', /container image batchai\/never-pulled:1\.0/);
    assert.match(exited.error?.message ?? '', /no usable container engine/);
    assert.ok(!agent.events().some((e) => e.kind === 'taskStarted' && e.jobId === 'in-container'));
  }
});

test('a storage outage loses no event, and the agent registers again once storage is back', async () => {
  const agent = await h.startAgent();
  const reg = await agent.registered();
  await agent.event('heartbeat');
  const azurite = h.stack.supervisor.pid('azurite');
  assert.ok(azurite);
  process.kill(azurite, 'SIGTERM'); // the supervisor starts it again on the same ports and data
  await waitFor(
    'azurite to be restarted',
    () => {
      const pid = h.stack.supervisor.pid('azurite');
      return pid !== undefined && pid !== azurite;
    },
    60_000,
  );
  const again = await agent.event('registered', (e) => e.seq > 0, 90_000);
  assert.equal(again.node.bootId, reg.node.bootId, 'the same boot');
  assert.deepEqual(again.tasks, []);
  await waitFor('events after the outage', () => agent.events().some((e) => e.seq > again.seq), 30_000);
  // Delivery is at least once (a send cut by the outage may be retried): no seq may be missing.
  const seqs = [...new Set(agent.events().map((e) => e.seq))].sort((a, b) => a - b);
  const max = seqs.at(-1) ?? 0;
  assert.deepEqual(
    seqs,
    Array.from({ length: max + 1 }, (_, i) => i),
    'no event lost',
  );
});

test('an agent killed with SIGKILL (a host crash) takes its tasks with it', async () => {
  const agent = await h.startAgent();
  const reg = await agent.registered();
  await h.send(
    agent,
    command(reg, {
      kind: 'runTask',
      jobId: 'orphan-candidate',
      attempt: 1,
      taskId: '0',
      commandLine: 'sleep 300 & echo $$ $! > pids; wait',
      workingDirectory: '/wd-crash',
      environmentVariables: [],
      secrets: [],
      stdOutErrDirectory: '/out-crash',
      files: [],
    }),
  );
  await agent.event('taskStarted', (e) => e.jobId === 'orphan-candidate');
  const pids = (
    await waitFor('the task pids', () => readFile(join(agent.disk, 'wd-crash/pids'), 'utf8').catch(() => undefined))
  )
    .trim()
    .split(' ')
    .map(Number);
  assert.equal(pids.length, 2);
  assert.ok(pids.every(processAlive));
  agent.child.kill('SIGKILL');
  await agent.exited;
  await waitFor('the task and its child to be gone', () => pids.every((p) => !processAlive(p)), 15_000);
});

test('a command queue that disappears is created again, and commands flow again', async () => {
  const agent = await h.startAgent();
  const reg = await agent.registered();
  const queue = h.queues.getQueueClient(`node-${agent.scaleSet}-0`);
  await queue.delete();
  await waitFor('the agent to create its queue again', async () => (await queue.exists()) || undefined, 30_000);
  await h.send(
    agent,
    command(reg, {
      kind: 'runTask',
      jobId: 'after-recreate',
      attempt: 1,
      taskId: 'master',
      commandLine: 'true',
      workingDirectory: '/wd',
      environmentVariables: [],
      secrets: [],
      stdOutErrDirectory: '/out',
      files: [],
    }),
  );
  assert.equal((await agent.event('taskExited', (e) => e.jobId === 'after-recreate')).exitCode, 0);
});
