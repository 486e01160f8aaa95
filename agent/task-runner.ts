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
import { StagedTasks, type TaskRef } from './staged-tasks.js';
import { resolveNodePath, taskEnvironment } from './task-env.js';

type RunTask = Extract<AgentCommand, { kind: 'runTask' }>;

const KILL_GRACE_MS = 3000;

interface Running {
  ref: TaskRef;
  child: ChildProcess;
  exited: Promise<void>;
  /** The Docker container of a containerSettings task: killing the docker CLI does not stop it. */
  container?: string;
}

/** A task between its start decision and its spawn (mounts, directories, files). */
interface Starting {
  /** A kill came while it was starting: it is killed as soon as it runs. */
  kill: boolean;
  /** Resolves once it runs (with its entry) or could not start (undefined; its taskExited is emitted by then). */
  done: Promise<Running | undefined>;
  settle: (entry: Running | undefined) => void;
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

const refOf = (r: TaskRef): TaskRef => ({ jobId: r.jobId, attempt: r.attempt, taskId: r.taskId });

/**
 * The job processes of this node. Each runs as `bash -c <commandLine>` in its own process group, its output in
 * stdout.txt / stderr.txt of its stdOutErrDirectory (the app gives every task but the master a directory of its
 * own, so no two processes write one file). The process groups are recorded on the disk so the next boot can kill
 * what a crashed agent left behind. A runTask with `after` is staged (staged-tasks.ts) and started by the exit of
 * the last task it waits for, through the same start path as any other.
 */
export class TaskRunner {
  private readonly running = new Map<string, Running>();
  private readonly starting = new Map<string, Starting>();
  /** Tasks whose processes are gone and whose taskExited is on its way, by task id. */
  private readonly exitReports = new Map<string, Promise<void>>();
  private readonly staged = new StagedTasks<RunTask>();
  private stopping = false;
  private recording: Promise<void> = Promise.resolve();
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

  /** Whether a task runs or is on its way to (a staged task started at its predecessor's exit, say). */
  busy(): boolean {
    return this.running.size > 0 || this.starting.size > 0;
  }

  hasRunning(): boolean {
    return this.running.size > 0;
  }

  list(): TaskRef[] {
    return [...this.running.values()].map((r) => ({ ...r.ref }));
  }

  /**
   * runTask. Everything up to the first await is synchronous on purpose: a staged task is registered (or a go
   * token, a cancellation, an exit it waits for is taken into account) before the next command of the same receive
   * batch is looked at.
   */
  async run(command: RunTask): Promise<void> {
    const ref = refOf(command);
    if (this.stopping) return;
    if (this.running.has(keyOf(ref))) {
      this.events.emit({ kind: 'taskStarted', ...ref });
      return;
    }
    if (this.starting.has(keyOf(ref))) return;
    const arrival = this.staged.arrive(ref, command.after, command);
    if (arrival.action === 'cancelled') {
      log.info('runTask of a cancelled task dropped', { jobId: ref.jobId, attempt: ref.attempt, taskId: ref.taskId });
      return;
    }
    if (arrival.action === 'stage') {
      log.info('task staged', { taskId: ref.taskId, waitingFor: arrival.waitingFor.join(' ') });
      return;
    }
    if (arrival.action === 'start') await this.start(command);
  }

  /** startStaged: the staged task starts now, whatever it waits for. */
  async startStaged(ref: TaskRef): Promise<void> {
    const release = this.staged.release(ref);
    if (release.outcome === 'released') await this.start(release.payload);
    else if (release.outcome === 'token')
      log.info('startStaged before its runTask; remembered', { taskId: ref.taskId });
  }

  /** unstageTask: answered with exactly one `unstaged`, `started` only once a killed task has exited. */
  async unstage(ref: TaskRef & { kill: boolean }): Promise<void> {
    const task = refOf(ref);
    if (this.staged.unstage(task) === 'dropped') {
      this.events.emit({ kind: 'unstaged', ...task, outcome: 'dropped' });
      return;
    }
    if (ref.kill) await this.kill(task);
    this.events.emit({ kind: 'unstaged', ...task, outcome: 'started' });
  }

  /** Mounts, directories, files, spawn: the one way a task starts, whether it was staged or not. */
  private async start(command: RunTask, releasedAt?: number): Promise<void> {
    const ref = refOf(command);
    if (this.stopping) return;
    let settle!: (entry: Running | undefined) => void;
    const done = new Promise<Running | undefined>((resolve) => {
      settle = resolve;
    });
    // The app hears of a staged task's start only after the exits it waited for (their events may still be going).
    const predecessorsReported = (command.after ?? []).flatMap((id) => this.exitReports.get(id) ?? []);
    const slot: Starting = { kill: false, done, settle };
    this.starting.set(keyOf(ref), slot);
    let child: ChildProcess;
    let spawnedAt = 0;
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
      // One turn of the event loop for both: the start of a staged task is on the critical path between two jobs.
      await Promise.all([mkdir(cwd, { recursive: true }), mkdir(outDir, { recursive: true })]);
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
      const output = { cwd, env, stdoutPath, stderrPath };
      if (command.container) {
        // The spawn creates the output files; a container task may fail before it, and still leaves them.
        await Promise.all([writeFile(stdoutPath, '', { flag: 'a' }), writeFile(stderrPath, '', { flag: 'a' })]);
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
      spawnedAt = performance.now();
    } catch (err) {
      this.starting.delete(keyOf(ref));
      if (!this.jobBusy(ref)) await this.releaseJob(ref);
      await Promise.all(predecessorsReported);
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
      settle(undefined);
      this.startReady(ref.taskId);
      return;
    }
    const exit = waitForExit(child);
    let reportedStarted!: () => void;
    const startReported = new Promise<void>((resolve) => {
      reportedStarted = resolve;
    });
    const entry: Running = { ref, child, exited: Promise.resolve(), ...(container ? { container } : {}) };
    entry.exited = exit.then(async (result) => {
      const exitSeenAt = performance.now();
      // Whatever the task left running in its group goes with it, as when a Batch AI task ended.
      killGroup(child.pid, 'SIGKILL');
      let exitReported!: () => void;
      const report = new Promise<void>((resolve) => {
        exitReported = resolve;
      });
      this.exitReports.set(ref.taskId, report);
      // Its processes are gone: a task staged behind it starts now. What follows (log shipping, blob flush, the
      // job's unmount, the event) concerns this task's files and mounts only, so it runs alongside the next start.
      this.startReady(ref.taskId, exitSeenAt);
      await shipper?.finish();
      // The task's files are closed: what it wrote on blob mounts goes up before its exit is reported.
      await Promise.all(
        [...this.ctx.blobMounts.values()].map((m) =>
          m.sync?.flush().catch((err) => log.warn('flushing a blob mount failed', { error: errorText(err) })),
        ),
      );
      await startReported;
      this.running.delete(keyOf(ref));
      this.paceSyncs();
      if (!this.jobBusy(ref)) await this.releaseJob(ref);
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
      exitReported();
      if (this.exitReports.get(ref.taskId) === report) this.exitReports.delete(ref.taskId);
      this.exited();
    });
    this.running.set(keyOf(ref), entry);
    this.starting.delete(keyOf(ref));
    settle(entry);
    if (slot.kill) void this.terminate(entry);
    this.paceSyncs();
    shipper?.start();
    await this.recordGroups();
    await Promise.all(predecessorsReported);
    this.events.emit({ kind: 'taskStarted', ...ref });
    reportedStarted();
    log.info('task started', {
      jobId: ref.jobId,
      attempt: ref.attempt,
      taskId: ref.taskId,
      pid: child.pid ?? 0,
      // A staged task: the agent's own share of the gap between jobs, from the predecessor's exit to this spawn.
      ...(releasedAt !== undefined ? { exitToSpawnMs: Math.round((spawnedAt - releasedAt) * 100) / 100 } : {}),
    });
  }

  /** A task's processes are gone: the staged tasks that waited only for it start. */
  private startReady(taskId: string, exitSeenAt?: number): void {
    if (this.stopping) return;
    for (const command of this.staged.taskExited(taskId)) {
      log.info('staged task released', { taskId: command.taskId, after: taskId });
      void this.start(command, exitSeenAt);
    }
  }

  /** Whether a task of this job is running or starting on this node (its job mounts are then in use). */
  private jobBusy(ref: TaskRef): boolean {
    const job = jobKeyOf(ref);
    return (
      [...this.running.values()].some((r) => jobKeyOf(r.ref) === job) ||
      [...this.starting.keys()].some((k) => k.startsWith(`${job}\n`))
    );
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
      if (this.jobBusy(ref)) return;
      for (const path of this.jobMounts.get(jobKeyOf(ref)) ?? []) await unmountBlob(path, this.ctx);
      this.jobMounts.delete(jobKeyOf(ref));
    });
  }

  /**
   * killTask: SIGTERM to the task's process group, SIGKILL after a grace period; taskExited follows from the exit,
   * and this resolves once it is emitted. A task still starting is killed as soon as it runs. A staged task, or one
   * whose runTask has not come, is dropped and reported ended at once (TaskCancelled), so a job killed meanwhile
   * waits for no grace; a runTask coming after the kill is not run.
   */
  async kill(ref: TaskRef): Promise<void> {
    const task = refOf(ref);
    if (this.staged.drop(task)) {
      log.info('staged task cancelled', { taskId: task.taskId });
      this.cancelled(task, 'The task was killed before it started (it was staged).');
      this.startReady(task.taskId);
      return;
    }
    const starting = this.starting.get(keyOf(task));
    if (starting) {
      starting.kill = true;
      const entry = await starting.done;
      if (entry) await entry.exited;
      return;
    }
    const entry = this.running.get(keyOf(task));
    if (entry) {
      await this.terminate(entry);
      return;
    }
    // Never received: the kill overtook its runTask, or the launch never came. It will not run, and its end is
    // reported now, so whoever stops it waits for no grace period. What is staged behind it keeps waiting: the
    // rest of its job may still be stopping here (a preparation task in its kill grace), and the app says when the
    // node is free (startStaged, with the promotion).
    if (this.staged.killUnstarted(task) === 'unknown') {
      log.info('killTask before its runTask: the task will not run', { taskId: task.taskId });
      this.cancelled(task, 'The task was killed before it started.');
    }
  }

  /** A task that will never run is reported ended (TaskCancelled). */
  private cancelled(task: TaskRef, message: string): void {
    this.events.emit({
      kind: 'taskExited',
      ...task,
      exitCode: null,
      signal: null,
      error: { code: 'TaskCancelled', message },
    });
  }

  /** The agent stops: staged tasks are dropped, starting and running ones killed. */
  async killAll(): Promise<void> {
    this.stopping = true;
    this.staged.clear();
    for (const slot of this.starting.values()) slot.kill = true;
    await Promise.all([
      ...[...this.running.values()].map((e) => this.terminate(e)),
      ...[...this.starting.values()].map(async (s) => (await s.done)?.exited),
    ]);
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

  /** One write of the groups file at a time (a staged task starts while its predecessor's exit is recorded). */
  private recordGroups(): Promise<void> {
    this.recording = this.recording.then(() => this.writeGroups());
    return this.recording;
  }

  private async writeGroups(): Promise<void> {
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
