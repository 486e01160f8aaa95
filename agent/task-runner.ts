import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import type { AgentCommand } from '../shared/domain/agent-protocol.js';
import type { EventChannel } from './channel.js';
import { errorText, log } from './log.js';
import { LogShipper } from './log-shipper.js';
import type { MountContext } from './mounts/mount-context.js';
import { groupAlive, killGroup, processStartTime, spawnBash, waitForExit } from './run-process.js';
import { resolveNodePath, taskEnvironment } from './task-env.js';

type RunTask = Extract<AgentCommand, { kind: 'runTask' }>;
type TaskRef = { jobId: string; attempt: number; taskId: string };

const KILL_GRACE_MS = 3000;

interface Running {
  ref: TaskRef;
  child: ChildProcess;
  exited: Promise<void>;
}

const keyOf = (r: TaskRef) => `${r.jobId}\n${r.attempt}\n${r.taskId}`;

/**
 * The job processes of this node. Each runs as `bash -c <commandLine>` in its own process group, with its output
 * in stdOutErrDirectory: the master task (taskId "0") writes stdout.txt / stderr.txt as Batch AI did, every other
 * task stdout-<taskId>.txt / stderr-<taskId>.txt, so tasks of several nodes sharing one directory never collide.
 * The process groups are recorded on the disk so the next boot can kill what a crashed agent left behind.
 */
export class TaskRunner {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly ctx: MountContext,
    private readonly events: EventChannel,
  ) {}

  list(): TaskRef[] {
    return [...this.running.values()].map((r) => ({ ...r.ref }));
  }

  async run(command: RunTask): Promise<void> {
    const ref = { jobId: command.jobId, attempt: command.attempt, taskId: command.taskId };
    if (this.running.has(keyOf(ref))) {
      this.events.emit({ kind: 'taskStarted', ...ref });
      return;
    }
    let child: ChildProcess;
    let shipper: LogShipper | undefined;
    try {
      const env = taskEnvironment(
        this.ctx.env,
        this.ctx.paths,
        command.environmentVariables,
        command.secrets,
        this.ctx.open,
      );
      const cwd = resolveNodePath(command.workingDirectory, env, this.ctx.paths);
      const outDir = resolveNodePath(command.stdOutErrDirectory, env, this.ctx.paths);
      await mkdir(cwd, { recursive: true });
      await mkdir(outDir, { recursive: true });
      const tempDir = env.AZ_BATCHAI_JOB_TEMP ? resolveNodePath(env.AZ_BATCHAI_JOB_TEMP, env, this.ctx.paths) : cwd;
      for (const file of command.files) {
        const rel = normalize(file.path);
        if (isAbsolute(rel) || rel.startsWith('..'))
          throw new Error(`file path "${file.path}" leaves the job's temp directory`);
        const path = join(tempDir, rel);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.content);
      }
      const suffix = command.taskId === '0' ? '' : `-${command.taskId.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
      const stdoutPath = join(outDir, `stdout${suffix}.txt`);
      const stderrPath = join(outDir, `stderr${suffix}.txt`);
      await writeFile(stdoutPath, '', { flag: 'a' });
      await writeFile(stderrPath, '', { flag: 'a' });
      shipper = LogShipper.forFiles([stdoutPath, stderrPath], this.ctx.blobMounts);
      child = spawnBash(command.commandLine, { cwd, env, stdoutPath, stderrPath });
    } catch (err) {
      this.events.emit({
        kind: 'taskExited',
        ...ref,
        exitCode: null,
        signal: null,
        error: { code: 'TaskFailedToStart', message: `The task could not be started: ${errorText(err)}` },
      });
      return;
    }
    const exit = waitForExit(child);
    const entry: Running = { ref, child, exited: Promise.resolve() };
    this.running.set(keyOf(ref), entry);
    shipper?.start();
    await this.recordGroups();
    this.events.emit({ kind: 'taskStarted', ...ref });
    log.info('task started', { jobId: ref.jobId, attempt: ref.attempt, taskId: ref.taskId, pid: child.pid ?? 0 });
    entry.exited = exit.then(async (result) => {
      // Whatever the task left running in its group goes with it, as when a Batch AI task ended.
      killGroup(child.pid, 'SIGKILL');
      await shipper?.finish();
      this.running.delete(keyOf(ref));
      await this.recordGroups();
      log.info('task exited', { taskId: ref.taskId, exitCode: result.exitCode, signal: result.signal });
      this.events.emit({
        kind: 'taskExited',
        ...ref,
        exitCode: result.exitCode,
        signal: result.signal,
        ...(result.spawnError
          ? { error: { code: 'TaskFailedToStart', message: `The task could not be started: ${result.spawnError}` } }
          : {}),
      });
    });
  }

  /** SIGTERM to the task's process group, SIGKILL after a grace period; taskExited follows from the exit. */
  async kill(ref: TaskRef): Promise<void> {
    const entry = this.running.get(keyOf(ref));
    if (!entry) return;
    await this.terminate(entry);
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((e) => this.terminate(e)));
  }

  private async terminate(entry: Running): Promise<void> {
    killGroup(entry.child.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(entry.child.pid, 'SIGKILL'), KILL_GRACE_MS);
    await entry.exited;
    clearTimeout(timer);
  }

  private get groupsFile(): string {
    return join(this.ctx.paths.stateDir, 'task-process-groups.json');
  }

  private async recordGroups(): Promise<void> {
    const pids = [...this.running.values()]
      .map((r) => r.child.pid)
      .filter((p): p is number => Boolean(p))
      .map((pid) => ({ pid, started: processStartTime(pid) }));
    try {
      await mkdir(this.ctx.paths.stateDir, { recursive: true });
      await writeFile(this.groupsFile, JSON.stringify(pids));
    } catch (err) {
      log.warn('recording task process groups failed', { error: errorText(err) });
    }
  }

  /** A new boot has no processes from the last one: kill groups a crashed agent of this disk left behind. */
  async killLeftovers(): Promise<void> {
    let groups: Array<{ pid: number; started?: string }> = [];
    try {
      groups = JSON.parse(await readFile(this.groupsFile, 'utf8')) as typeof groups;
    } catch {
      return;
    }
    for (const { pid, started } of groups) {
      // Only the very process recorded (same start time), never a process that reused its pid.
      if (Number.isInteger(pid) && pid > 1 && started && processStartTime(pid) === started && groupAlive(pid)) {
        log.warn('killing a task left by a previous boot', { pid });
        killGroup(pid, 'SIGKILL');
      }
    }
    await writeFile(this.groupsFile, '[]').catch(() => {});
  }
}
