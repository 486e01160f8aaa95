// Staged tasks on a real agent process (decision 0120): a runTask with `after` is held until the tasks it names
// have exited on this boot, then starts with no round trip through the app; startStaged, unstageTask and killTask
// on staged tasks. One agent for the whole file; every test uses task ids of its own.
import assert from 'node:assert/strict';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AgentEvent } from '../../../shared/domain/index.js';
import { processAlive } from '../../support/processes.js';
import { AgentHarness, command, type RunningAgent, waitFor } from './harness.js';

type Registered = Extract<AgentEvent, { kind: 'registered' }>;

let h: AgentHarness;
let agent: RunningAgent;
let reg: Registered;
before(async () => {
  h = await AgentHarness.start();
  agent = await h.startAgent();
  reg = await agent.registered();
});
after(async () => {
  await h?.dispose();
});

/** A runTask of job `jobId` whose wire task id is `taskId`, staged behind `afterIds` if given. */
function task(jobId: string, taskId: string, commandLine: string, afterIds?: string[]) {
  return command(reg, {
    kind: 'runTask',
    jobId,
    attempt: 1,
    taskId,
    commandLine,
    workingDirectory: `/mnt/batch/tasks/shared/LS_root/jobs/${jobId}/wd`,
    environmentVariables: [],
    secrets: [],
    stdOutErrDirectory: `/mnt/batch/tasks/shared/LS_root/jobs/${jobId}/${taskId}`,
    files: [],
    ...(afterIds ? { after: afterIds } : {}),
  });
}

async function scratch(name: string): Promise<string> {
  const dir = join(agent.disk, 'scratch', name);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The agent's log lines (JSON) with this message and task id. */
function logLines(msg: string, taskId: string): Array<Record<string, unknown>> {
  return agent.output
    .join('')
    .split('\n')
    .flatMap((line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        return entry.msg === msg && entry.taskId === taskId ? [entry] : [];
      } catch {
        return [];
      }
    });
}

const logged = (msg: string, taskId: string) =>
  waitFor(`the agent to log "${msg}" for ${taskId}`, () => logLines(msg, taskId).length > 0, 30_000);

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

const has = (kind: AgentEvent['kind'], taskId: string) =>
  agent.events().some((e) => e.kind === kind && 'taskId' in e && e.taskId === taskId);

/** A task that records its pid, waits for `go`, then writes `done` as its very last act. */
const gated = (dir: string, name: string) =>
  `echo $$ > '${dir}/${name}.pid'; while [ ! -e '${dir}/go' ]; do sleep 0.05; done; echo done > '${dir}/${name}.done'`;

/** A task that writes ok to `<name>.check` if `pred` finished (its last file exists) and its process is gone. */
const checksPredecessor = (dir: string, pred: string, name: string) =>
  `if [ -e '${dir}/${pred}.done' ] && ! kill -0 "$(cat '${dir}/${pred}.pid')" 2>/dev/null; then echo ok; else echo early; fi > '${dir}/${name}.check'`;

test('a staged task starts only once the task it waits for has exited, and is reported after its exit', async () => {
  const dir = await scratch('behind-running');
  await h.send(agent, task('A1', 'a1.master', gated(dir, 'a')));
  await agent.event('taskStarted', (e) => e.taskId === 'a1.master');
  await h.send(agent, task('B1', 'b1.master', checksPredecessor(dir, 'a', 'b'), ['a1.master']));
  await logged('task staged', 'b1.master');
  assert.equal(has('taskStarted', 'b1.master'), false, 'staged, not started');
  assert.equal(await exists(join(dir, 'b.check')), false);

  await writeFile(join(dir, 'go'), '');
  const exitedB = await agent.event('taskExited', (e) => e.taskId === 'b1.master');
  assert.equal(exitedB.exitCode, 0);
  assert.equal(
    await readFile(join(dir, 'b.check'), 'utf8'),
    'ok\n',
    "the predecessor's last write and exit came first",
  );
  const exitedA = await agent.event('taskExited', (e) => e.taskId === 'a1.master');
  const startedB = await agent.event('taskStarted', (e) => e.taskId === 'b1.master');
  assert.equal(exitedA.exitCode, 0);
  assert.ok(exitedA.seq < startedB.seq, 'taskExited of the predecessor comes before taskStarted of the staged task');
  assert.ok(startedB.seq < exitedB.seq);
});

test('a staged task whose predecessor had already exited starts at once', async () => {
  await h.send(agent, task('A2', 'a2.master', 'true'));
  await agent.event('taskExited', (e) => e.taskId === 'a2.master');
  await h.send(agent, task('B2', 'b2.master', 'true', ['a2.master']));
  const exited = await agent.event('taskExited', (e) => e.taskId === 'b2.master');
  assert.equal(exited.exitCode, 0);
  assert.deepEqual(logLines('task staged', 'b2.master'), [], 'never held');
});

test('a staged task waits for a predecessor whose runTask arrives after it', async () => {
  const dir = await scratch('before-predecessor');
  await h.send(agent, task('B3', 'b3.master', checksPredecessor(dir, 'a', 'b'), ['a3.master', 'a3.rank-1']));
  await logged('task staged', 'b3.master');
  await writeFile(join(dir, 'go'), '');
  await h.send(agent, task('A3', 'a3.master', gated(dir, 'a')));
  await h.send(agent, task('A3', 'a3.rank-1', 'true'));
  const exitedB = await agent.event('taskExited', (e) => e.taskId === 'b3.master');
  assert.equal(exitedB.exitCode, 0);
  assert.equal(await readFile(join(dir, 'b.check'), 'utf8'), 'ok\n');
  const startedB = await agent.event('taskStarted', (e) => e.taskId === 'b3.master');
  for (const id of ['a3.master', 'a3.rank-1']) {
    const exitedA = await agent.event('taskExited', (e) => e.taskId === id);
    assert.ok(exitedA.seq < startedB.seq, `${id} exited before the staged task was reported started`);
  }
});

test('startStaged starts a staged task whose predecessor never comes, even when it arrives first', async () => {
  await h.send(agent, task('B4', 'b4.master', 'exit 3', ['never.master']));
  await logged('task staged', 'b4.master');
  await h.send(agent, command(reg, { kind: 'startStaged', jobId: 'B4', attempt: 1, taskId: 'b4.master' }));
  assert.equal((await agent.event('taskExited', (e) => e.taskId === 'b4.master')).exitCode, 3);

  await h.send(agent, command(reg, { kind: 'startStaged', jobId: 'C4', attempt: 1, taskId: 'c4.master' }));
  await logged('startStaged before its runTask; remembered', 'c4.master');
  await h.send(agent, task('C4', 'c4.master', 'exit 4', ['never.master']));
  assert.equal((await agent.event('taskExited', (e) => e.taskId === 'c4.master')).exitCode, 4);
  assert.deepEqual(logLines('task staged', 'c4.master'), [], 'started at once, never held');
});

test('unstageTask on a staged task: dropped, and it never runs', async () => {
  const dir = await scratch('unstage-staged');
  await h.send(agent, task('A5', 'a5.master', gated(dir, 'a')));
  await agent.event('taskStarted', (e) => e.taskId === 'a5.master');
  await h.send(agent, task('B5', 'b5.master', `echo ran > '${dir}/b.ran'`, ['a5.master']));
  await h.send(agent, task('D5', 'd5.master', 'true', ['a5.master']));
  await logged('task staged', 'b5.master');
  await logged('task staged', 'd5.master');
  await h.send(agent, command(reg, { kind: 'unstageTask', jobId: 'B5', attempt: 1, taskId: 'b5.master', kill: false }));
  const answer = await agent.event('unstaged', (e) => e.taskId === 'b5.master');
  assert.equal(answer.outcome, 'dropped');
  // D5, staged behind the same task and after B5, starts and ends: B5 would have started by then.
  await writeFile(join(dir, 'go'), '');
  await agent.event('taskExited', (e) => e.taskId === 'd5.master');
  assert.equal(has('taskStarted', 'b5.master'), false);
  assert.equal(await exists(join(dir, 'b.ran')), false);
  assert.equal(
    agent
      .events()
      .filter((e) => e.kind === 'unstaged')
      .filter((e) => e.taskId === 'b5.master').length,
    1,
  );
});

test('unstageTask on a running task: started at once without kill (it runs on), after its exit with kill', async () => {
  const dir = await scratch('unstage-running');
  await h.send(agent, task('E6', 'e6.master', gated(dir, 'e')));
  await agent.event('taskStarted', (e) => e.taskId === 'e6.master');
  await h.send(agent, command(reg, { kind: 'unstageTask', jobId: 'E6', attempt: 1, taskId: 'e6.master', kill: false }));
  assert.equal((await agent.event('unstaged', (e) => e.taskId === 'e6.master')).outcome, 'started');
  assert.equal(has('taskExited', 'e6.master'), false, 'it cannot end before go');
  const pid = Number(
    await waitFor('the task to record its pid', () =>
      readFile(join(dir, 'e.pid'), 'utf8').then(
        (text) => (text.endsWith('\n') ? text : undefined),
        () => undefined,
      ),
    ),
  );
  assert.ok(pid > 1 && processAlive(pid), 'still running');
  await writeFile(join(dir, 'go'), '');
  assert.equal((await agent.event('taskExited', (e) => e.taskId === 'e6.master')).exitCode, 0);

  await h.send(agent, task('E7', 'e7.master', 'sleep 300'));
  await agent.event('taskStarted', (e) => e.taskId === 'e7.master');
  await h.send(agent, command(reg, { kind: 'unstageTask', jobId: 'E7', attempt: 1, taskId: 'e7.master', kill: true }));
  const answer = await agent.event('unstaged', (e) => e.taskId === 'e7.master');
  assert.equal(answer.outcome, 'started');
  const exited = await agent.event('taskExited', (e) => e.taskId === 'e7.master');
  assert.equal(exited.signal, 'SIGTERM');
  assert.ok(exited.seq < answer.seq, 'the answer comes once the killed task has exited');
});

test('unstageTask on a task never received: dropped; its staged runTask arriving later is dropped, an ordinary one runs', async () => {
  const dir = await scratch('unstage-unknown');
  await h.send(agent, command(reg, { kind: 'unstageTask', jobId: 'F8', attempt: 1, taskId: 'f8.master', kill: true }));
  assert.equal((await agent.event('unstaged', (e) => e.taskId === 'f8.master')).outcome, 'dropped');
  // Staged behind G8: had it been kept, it would start when G8 ends.
  await h.send(agent, task('F8', 'f8.master', `echo ran > '${dir}/f.ran'`, ['g8.master']));
  await logged('runTask of a cancelled task dropped', 'f8.master');
  await h.send(agent, task('G8', 'g8.master', 'true'));
  await agent.event('taskExited', (e) => e.taskId === 'g8.master');
  assert.equal(has('taskStarted', 'f8.master'), false);
  assert.equal(await exists(join(dir, 'f.ran')), false);
  // The app starts a job it took back the ordinary way (no `after`): that run happens.
  await h.send(agent, task('F8', 'f8.master', `echo ran > '${dir}/f.ran'`));
  await agent.event('taskExited', (e) => e.taskId === 'f8.master');
  assert.equal(await exists(join(dir, 'f.ran')), true);
});

test('killTask on a staged task: taskExited at once with TaskCancelled, and it never runs', async () => {
  const dir = await scratch('kill-staged');
  await h.send(agent, task('H9', 'h9.master', `echo ran > '${dir}/h.ran'`, ['never.master']));
  await logged('task staged', 'h9.master');
  await h.send(agent, command(reg, { kind: 'killTask', jobId: 'H9', attempt: 1, taskId: 'h9.master' }));
  const exited = await agent.event('taskExited', (e) => e.taskId === 'h9.master');
  assert.equal(exited.exitCode, null);
  assert.equal(exited.signal, null);
  assert.equal(exited.error?.code, 'TaskCancelled');
  // A later startStaged finds nothing staged any more.
  await h.send(agent, command(reg, { kind: 'startStaged', jobId: 'H9', attempt: 1, taskId: 'h9.master' }));
  await h.send(agent, task('I9', 'i9.master', 'true'));
  await agent.event('taskExited', (e) => e.taskId === 'i9.master');
  assert.equal(has('taskStarted', 'h9.master'), false);
  assert.equal(await exists(join(dir, 'h.ran')), false);
});

test('killTask before its runTask: taskExited at once with TaskCancelled, the runTask never runs, and what is staged behind it waits for startStaged', async () => {
  const dir = await scratch('kill-first');
  await h.send(agent, task('L9', 'l9.next', `echo ran > '${dir}/next.ran'`, ['k9.master']));
  await logged('task staged', 'l9.next');
  await h.send(agent, command(reg, { kind: 'killTask', jobId: 'K9', attempt: 1, taskId: 'k9.master' }));
  const exited = await agent.event('taskExited', (e) => e.taskId === 'k9.master');
  assert.equal(exited.error?.code, 'TaskCancelled');
  await h.send(agent, task('K9', 'k9.master', `echo ran > '${dir}/k.ran'`));
  await logged('runTask of a cancelled task dropped', 'k9.master');
  // A task sent after both has run to its end: had the kill released the staged task, it would have started first.
  await h.send(agent, task('M9', 'm9.master', 'true'));
  await agent.event('taskExited', (e) => e.taskId === 'm9.master');
  assert.equal(has('taskStarted', 'k9.master'), false);
  assert.equal(await exists(join(dir, 'k.ran')), false);
  assert.equal(has('taskStarted', 'l9.next'), false, 'the staged task still waits');
  await h.send(agent, command(reg, { kind: 'startStaged', jobId: 'L9', attempt: 1, taskId: 'l9.next' }));
  await agent.event('taskExited', (e) => e.taskId === 'l9.next');
  assert.equal(await exists(join(dir, 'next.ran')), true);
});
