import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { isPortFree, PortInUseError } from './ports.js';

/** One process of the local stack: how to start it, which ports it claims and how to tell it is ready. */
export interface ServiceSpec {
  name: string;
  /** A Node.js entry script; every service of the stack is a Node process. */
  script: string;
  args: string[];
  env?: Record<string, string | undefined>;
  ports: { port: number; option: string }[];
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
  /** Names of services that must be ready before this one starts. */
  after?: string[];
}

export class ServiceFailedError extends Error {
  constructor(
    readonly service: string,
    reason: string,
    readonly output: string,
  ) {
    super(`${service} ${reason}${output ? `\n--- last output of ${service} ---\n${output}` : ''}`);
    this.name = 'ServiceFailedError';
  }
}

const OUTPUT_LINES_KEPT = 200;
const STOP_GRACE_MS = 5000;
const RESTARTS_PER_MINUTE = 5;

class RunningService {
  child: ChildProcess | undefined;
  readonly output: string[] = [];
  private readonly log: WriteStream;
  private stopping = false;
  /** Set while the service is down on purpose (killed by `kill`, waiting for `restart`): no automatic restart. */
  held = false;
  private restarts: number[] = [];

  constructor(
    readonly spec: ServiceSpec,
    logDir: string,
    private readonly onUnexpectedExit: (service: RunningService, code: number | null, signal: string | null) => void,
  ) {
    this.log = createWriteStream(join(logDir, `${spec.name}.log`), { flags: 'a' });
  }

  spawn(): void {
    const child = spawn(process.execPath, [this.spec.script, ...this.spec.args], {
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    const capture = (chunk: Buffer) => {
      this.log.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.output.push(line);
        if (this.output.length > OUTPUT_LINES_KEPT) this.output.shift();
      }
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.stopping && !this.held) this.onUnexpectedExit(this, code, signal);
    });
  }

  /** SIGKILL, as an operator's `kill -9` or a crash would; resolves once the process is gone. */
  async kill(): Promise<void> {
    this.held = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Restarts are rate-limited so a service that crashes at start does not spin. */
  mayRestart(now: number): boolean {
    this.restarts = this.restarts.filter((t) => now - t < 60_000);
    if (this.restarts.length >= RESTARTS_PER_MINUTE) return false;
    this.restarts.push(now);
    return true;
  }

  tail(lines = 40): string {
    return this.output.slice(-lines).join('\n');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}

export interface SupervisorEvents {
  onLog?: (message: string) => void;
}

/**
 * Starts the stack's services in dependency order (independent ones in parallel), waits for each to be
 * ready, restarts one that dies unexpectedly, and stops all of them (reverse order) on request.
 */
export class Supervisor {
  private readonly services = new Map<string, RunningService>();
  /** Resolves when the service is ready: what dependants wait for. */
  private readonly readiness = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly logDir: string,
    private readonly events: SupervisorEvents = {},
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  async start(specs: ServiceSpec[]): Promise<void> {
    for (const spec of specs) {
      for (const { port, option } of spec.ports) {
        if (!(await isPortFree(port))) throw new PortInUseError(port, spec.name, option);
      }
    }
    const startOne = (spec: ServiceSpec): Promise<void> => {
      const existing = this.readiness.get(spec.name);
      if (existing) return existing;
      const promise = (async () => {
        for (const dep of spec.after ?? []) {
          const depSpec = specs.find((s) => s.name === dep);
          const running = this.readiness.get(dep);
          if (running)
            await running; // started by this or an earlier start() call
          else if (depSpec) await startOne(depSpec);
          else throw new Error(`${spec.name} must start after ${dep}, which is not part of this stack`);
        }
        await this.launch(spec);
      })();
      this.readiness.set(spec.name, promise);
      return promise;
    };
    const results = await Promise.allSettled(specs.map(startOne));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private async launch(spec: ServiceSpec): Promise<void> {
    const service = new RunningService(spec, this.logDir, (s, code, signal) => this.handleExit(s, code, signal));
    this.services.set(spec.name, service);
    service.spawn();
    await this.untilReady(service);
  }

  private async untilReady(service: RunningService): Promise<void> {
    const { spec } = service;
    const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000);
    while (!this.stopped) {
      if (!service.alive) {
        throw new ServiceFailedError(spec.name, 'exited before it was ready', service.tail());
      }
      if (await spec.ready().catch(() => false)) {
        this.events.onLog?.(`${spec.name} ready`);
        return;
      }
      if (Date.now() > deadline) {
        throw new ServiceFailedError(
          spec.name,
          `was not ready within ${spec.readyTimeoutMs ?? 60_000} ms`,
          service.tail(),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private handleExit(service: RunningService, code: number | null, signal: string | null): void {
    if (this.stopped) return;
    const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (service.mayRestart(Date.now())) {
      this.events.onLog?.(`${service.spec.name} ${why}; restarting it`);
      setTimeout(() => {
        if (!this.stopped) service.spawn();
      }, 250);
    } else {
      this.events.onLog?.(`${service.spec.name} ${why} too often; giving up on it\n${service.tail()}`);
    }
  }

  /** The recent output of every service, for a failing test or a start that went wrong. */
  outputs(): Record<string, string> {
    return Object.fromEntries([...this.services].map(([name, s]) => [name, s.tail(OUTPUT_LINES_KEPT)]));
  }

  /**
   * Kills one service with SIGKILL (no grace, no shutdown code: a crash) and keeps it down until `restart`. Its
   * data stays. Tests use it to crash one part of the stack at a chosen moment.
   */
  async kill(name: string): Promise<void> {
    const service = this.services.get(name);
    if (!service) throw new Error(`no service ${name} in this stack`);
    await service.kill();
  }

  /** Starts a service that `kill` stopped, on the same data and ports; resolves when it is ready again. */
  async restart(name: string): Promise<void> {
    const service = this.services.get(name);
    if (!service) throw new Error(`no service ${name} in this stack`);
    if (service.alive) throw new Error(`${name} is running; kill it first`);
    service.held = false;
    service.spawn();
    await this.untilReady(service);
  }

  pid(name: string): number | undefined {
    return this.services.get(name)?.child?.pid;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Reverse start order: the app goes first, storage last, so nothing loses its backend mid-request.
    const services = [...this.services.values()].reverse();
    for (const service of services) await service.stop();
  }
}
