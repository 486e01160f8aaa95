import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import type { AgentCommand, MountSpec } from '../shared/domain/agent-protocol.js';
import type { EventChannel } from './channel.js';
import { containerEngineProblem, containerName, dockerRunArgs, killContainer, registryLogin } from './container.js';
import { errorText, log } from './log.js';
import { LogShipper } from './log-shipper.js';
import { type MountContext, MountError } from './mounts/mount-context.js';
import { mountVolume, unmountBlob } from './mounts/mount-volume.js';
import { groupAlive, killGroup, processStartTime, spawnBash, spawnLogged, waitForExit } from './run-process.js';
import { resolveNodePath, taskEnvironment } from './task-env.js';

type RunTask = Extract<AgentCommand, { kind: 'runTask' }>;
type TaskRef = { jobId: string; attempt: number; taskId: string };

const KILL_GRACE_MS = 3000;

interface Running {
  ref: TaskRef;
  child: ChildProcess;
  exited: Promise<void>;
  /** The Docker container of a containerSettings task: killing the docker CLI does not stop it. */
  container?: string;
}

/** A task that cannot start: reported as taskExited with this Batch AI error. */
class StartError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Array<{ name: string; value: string }>,
  ) {
    super(message);
  }
}

const jobKeyOf = (r: TaskRef) => `${r.jobId}\n${r.attempt}`;

const keyOf = (r: TaskRef) => `${r.jobId}\n${r.attempt}\n${r.taskId}`;

/**
 * The job processes of this node. Each runs as `bash -c <commandLine>` in its own process group, its output in
 * stdout.txt / stderr.txt of its stdOutErrDirectory (the app gives every task but the master a directory of its
 * own, so no two processes write one file). The process groups are recorded on the disk so the next boot can kill
 * what a crashed agent left behind.
 */
export class TaskRunner {
  private readonly running = new Map<string, Running>();
  /** The job mounts of each job (jobId + attempt) on this node, released when its last task here ends. */
  private readonly jobMounts = new Map<string, Set<string>>();
  /** Mounting and releasing a job's mounts never interleave (a task starting while the previous one ends). */
  private readonly jobLocks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ctx: MountContext,
    private readonly events: EventChannel,
    private readonly node: { bootId: string; gpus: number },
    /** Told after each task's exit is reported (the command loop then expects the node's next command). */
    private readonly exited: () => void = () => {},
  ) {}

  hasRunning(): boolean {
    return this.running.size > 0;
  }

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
    let container: string | undefined;
    try {
      const env = taskEnvironment(
        this.ctx.env,
        this.ctx.paths,
        command.environmentVariables,
        command.secrets,
        this.ctx.open,
      );
      // Relative paths are relative to the job's temporary directory (or the root of all of them).
      const jobTemp = env.AZ_BATCHAI_JOB_TEMP
        ? resolveNodePath(env.AZ_BATCHAI_JOB_TEMP, env, this.ctx.paths)
        : this.ctx.paths.jobTempRoot;
      if (command.mounts?.length) await this.mountForJob(ref, command.mounts, env, jobTemp);
      const cwd = resolve(jobTemp, resolveNodePath(command.workingDirectory, env, this.ctx.paths));
      const outDir = resolve(jobTemp, resolveNodePath(command.stdOutErrDirectory, env, this.ctx.paths));
      await mkdir(cwd, { recursive: true });
      await mkdir(outDir, { recursive: true });
      const tempDir = env.AZ_BATCHAI_JOB_TEMP ? jobTemp : cwd;
      for (const file of command.files) {
        const rel = normalize(file.path);
        if (isAbsolute(rel) || rel.startsWith('..'))
          throw new Error(`file path "${file.path}" leaves the job's temp directory`);
        const path = join(tempDir, rel);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.content);
      }
      const stdoutPath = join(outDir, 'stdout.txt');
      const stderrPath = join(outDir, 'stderr.txt');
      await writeFile(stdoutPath, '', { flag: 'a' });
      await writeFile(stderrPath, '', { flag: 'a' });
      const output = { cwd, env, stdoutPath, stderrPath };
      if (command.container) {
        const spec = command.container;
        const problem = await containerEngineProblem();
        if (problem) {
          throw new StartError(
            'ContainerEngineUnavailable',
            `The job runs in container image ${spec.image}, but this node has no usable container engine (${problem}).`,
          );
        }
        if (spec.password) {
          const loginProblem = await registryLogin(spec, this.ctx.open(spec.password));
          if (loginProblem) {
            throw new StartError(
              'ContainerRegistryLoginFailed',
              `Logging in to registry ${spec.serverUrl ?? 'docker.io'} as ${spec.username ?? ''} failed: ${loginProblem}`,
            );
          }
        }
        container = containerName(ref, this.node.bootId);
        const envNames = new Set([
          ...Object.keys(env).filter((n) => n.startsWith('AZ_BATCHAI_')),
          ...command.environmentVariables.map((v) => v.name),
          ...command.secrets.map((s) => s.name),
        ]);
        const args = dockerRunArgs({
          spec,
          name: container,
          cwd,
          binds: [this.ctx.paths.mountRoot, this.ctx.paths.jobTempRoot, cwd, outDir],
          envNames: [...envNames],
          gpus: this.node.gpus,
          commandLine: command.commandLine,
        });
        shipper = LogShipper.forFiles([stdoutPath, stderrPath], this.ctx.blobMounts);
        child = spawnLogged('docker', args, output);
      } else {
        shipper = LogShipper.forFiles([stdoutPath, stderrPath], this.ctx.blobMounts);
        child = spawnBash(command.commandLine, output);
      }
    } catch (err) {
      if (![...this.running.values()].some((r) => jobKeyOf(r.ref) === jobKeyOf(ref))) await this.releaseJob(ref);
      this.events.emit({
        kind: 'taskExited',
        ...ref,
        exitCode: null,
        signal: null,
        error:
          err instanceof StartError
            ? { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }
            : { code: 'TaskFailedToStart', message: `The task could not be started: ${errorText(err)}` },
      });
      return;
    }
    const exit = waitForExit(child);
    const entry: Running = { ref, child, exited: Promise.resolve(), ...(container ? { container } : {}) };
    this.running.set(keyOf(ref), entry);
    this.paceSyncs();
    shipper?.start();
    await this.recordGroups();
    this.events.emit({ kind: 'taskStarted', ...ref });
    log.info('task started', { jobId: ref.jobId, attempt: ref.attempt, taskId: ref.taskId, pid: child.pid ?? 0 });
    entry.exited = exit.then(async (result) => {
      // Whatever the task left running in its group goes with it, as when a Batch AI task ended.
      killGroup(child.pid, 'SIGKILL');
      await shipper?.finish();
      // The task's files are closed: what it wrote on blob mounts goes up before its exit is reported.
      await Promise.all(
        [...this.ctx.blobMounts.values()].map((m) =>
          m.sync?.flush().catch((err) => log.warn('flushing a blob mount failed', { error: errorText(err) })),
        ),
      );
      this.running.delete(keyOf(ref));
      this.paceSyncs();
      if (![...this.running.values()].some((r) => jobKeyOf(r.ref) === jobKeyOf(ref))) await this.releaseJob(ref);
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
      this.exited();
    });
  }

  /** Blob mounts sync at the fast pace while tasks run, slowly while the node is idle. */
  private paceSyncs(): void {
    for (const m of this.ctx.blobMounts.values()) m.sync?.setActive(this.running.size > 0);
  }

  private locked<T>(ref: TaskRef, action: () => Promise<T>): Promise<T> {
    const key = jobKeyOf(ref);
    const next = (this.jobLocks.get(key) ?? Promise.resolve()).catch(() => {}).then(action);
    this.jobLocks.set(key, next);
    void next.finally(() => this.jobLocks.get(key) === next && this.jobLocks.delete(key)).catch(() => {});
    return next;
  }

  private mountForJob(ref: TaskRef, mounts: MountSpec[], env: NodeJS.ProcessEnv, jobTemp: string): Promise<void> {
    return this.locked(ref, async () => {
      const root = env.AZ_BATCHAI_JOB_MOUNT_ROOT
        ? resolve(jobTemp, resolveNodePath(env.AZ_BATCHAI_JOB_MOUNT_ROOT, env, this.ctx.paths))
        : join(jobTemp, 'mounts');
      const paths = this.jobMounts.get(jobKeyOf(ref)) ?? new Set<string>();
      this.jobMounts.set(jobKeyOf(ref), paths);
      for (const spec of mounts) {
        try {
          paths.add(await mountVolume(spec, this.ctx, root));
        } catch (err) {
          if (err instanceof MountError) throw new StartError('MountFailed', err.message, err.details);
          throw new StartError(
            'MountFailed',
            `Mounting ${spec.kind} volume ${spec.relativeMountPath} failed: ${errorText(err)}`,
          );
        }
      }
    });
  }

  private releaseJob(ref: TaskRef): Promise<void> {
    return this.locked(ref, async () => {
      if ([...this.running.values()].some((r) => jobKeyOf(r.ref) === jobKeyOf(ref))) return;
      for (const path of this.jobMounts.get(jobKeyOf(ref)) ?? []) await unmountBlob(path, this.ctx);
      this.jobMounts.delete(jobKeyOf(ref));
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
    if (entry.container) killContainer(entry.container);
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
