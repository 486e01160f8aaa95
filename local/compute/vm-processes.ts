// The "hypervisor": each VM is one OS process (the node agent) with an IPC channel to this emulator, so an agent
// exits when the emulator dies (no orphans). It only starts, stops, freezes and kills processes and reports exits
// it did not ask for; what a VM *is* (records, events, disks) is the emulator's business.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export interface VmLaunch {
  key: string;
  script: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logPath: string;
}

export interface UnexpectedExit {
  key: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Vm {
  child: ChildProcess;
  /** Set before we stop or kill it ourselves: its exit is then expected. */
  expectExit: boolean;
  exited: Promise<void>;
  frozen: boolean;
}

/** The process state letter from /proc (Linux); undefined where there is no /proc or no such process. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return undefined;
  }
}

async function untilState(pid: number, ok: (state: string) => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = procState(pid);
    if (state === undefined || ok(state) || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export class VmProcesses {
  private readonly vms = new Map<string, Vm>();

  constructor(
    private readonly log: Logger,
    private readonly onUnexpectedExit: (exit: UnexpectedExit) => void,
  ) {}

  /** Starts the VM's process; resolves once the OS has started it (rejects if it could not be). */
  async start(launch: VmLaunch): Promise<number> {
    if (this.isRunning(launch.key)) throw new Error(`VM ${launch.key} is already running`);
    mkdirSync(dirname(launch.logPath), { recursive: true });
    const fd = openSync(launch.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [launch.script, ...launch.args], {
        cwd: launch.cwd,
        env: launch.env,
        stdio: ['ignore', fd, fd, 'ipc'],
      });
    } finally {
      closeSync(fd);
    }
    // The channel must not keep the emulator alive; its only job is to close when the emulator dies.
    child.channel?.unref();
    child.on('message', () => {});
    child.on('error', () => {});
    const vm: Vm = {
      child,
      expectExit: false,
      frozen: false,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    this.vms.set(launch.key, vm);
    child.once('exit', (code, signal) => {
      if (this.vms.get(launch.key) === vm) this.vms.delete(launch.key);
      if (!vm.expectExit) {
        this.log.warn({ vm: launch.key, pid: child.pid, code, signal }, 'VM process exited unexpectedly');
        this.onUnexpectedExit({ key: launch.key, pid: child.pid ?? 0, code, signal });
      }
    });
    return child.pid ?? 0;
  }

  isRunning(key: string): boolean {
    const vm = this.vms.get(key);
    return vm !== undefined && vm.child.exitCode === null && vm.child.signalCode === null;
  }

  pid(key: string): number | undefined {
    return this.isRunning(key) ? this.vms.get(key)?.child.pid : undefined;
  }

  isFrozen(key: string): boolean {
    return this.vms.get(key)?.frozen ?? false;
  }

  /** Graceful stop: SIGTERM, then SIGKILL after the grace period. Resolves when the process is gone. */
  async stop(key: string, graceMs: number): Promise<void> {
    const vm = this.vms.get(key);
    if (!vm) return;
    vm.expectExit = true;
    if (vm.frozen) vm.child.kill('SIGCONT');
    vm.child.kill('SIGTERM');
    const timer = setTimeout(() => vm.child.kill('SIGKILL'), graceMs);
    await vm.exited;
    clearTimeout(timer);
  }

  /** Pulls the plug: SIGKILL, no grace (a host crash). */
  async kill(key: string, expected: boolean): Promise<void> {
    const vm = this.vms.get(key);
    if (!vm) return;
    vm.expectExit = expected;
    vm.child.kill('SIGKILL');
    await vm.exited;
  }

  /** SIGSTOP; resolves once the kernel reports the process stopped (signals are delivered asynchronously). */
  async freeze(key: string): Promise<boolean> {
    const vm = this.vms.get(key);
    if (!vm) return false;
    vm.frozen = vm.child.kill('SIGSTOP') || vm.frozen;
    if (vm.frozen && vm.child.pid) await untilState(vm.child.pid, (s) => s === 'T' || s === 't');
    return vm.frozen;
  }

  async thaw(key: string): Promise<boolean> {
    const vm = this.vms.get(key);
    if (!vm) return false;
    vm.child.kill('SIGCONT');
    vm.frozen = false;
    if (vm.child.pid) await untilState(vm.child.pid, (s) => s !== 'T' && s !== 't');
    return true;
  }

  /** Stops every VM (the emulator is shutting down): records stay, VMs boot again on the next start. */
  async stopAll(graceMs: number): Promise<void> {
    await Promise.all([...this.vms.keys()].map((key) => this.stop(key, graceMs)));
  }
}
