import { randomUUID } from 'node:crypto';
import type { AgentBootConfig } from '../shared/domain/agent-bootstrap.js';
import type { AgentCommand, NodeRef } from '../shared/domain/agent-protocol.js';
import { NODE_EVENTS_QUEUE, nodeCommandQueueName } from '../shared/domain/agent-wire.js';
import { EventChannel } from './channel.js';
import { CommandLoop } from './command-loop.js';
import { containerEngineProblem } from './container.js';
import { prepareFileServer } from './file-server-role.js';
import type { NodeIdentity } from './identity.js';
import { errorText, log } from './log.js';
import type { MountContext } from './mounts/mount-context.js';
import { nodePaths } from './node-paths.js';
import { newBootKeys } from './open-sealed.js';
import { type BatchAiError, runSetup } from './setup.js';
import type { StorageAuth } from './storage/credentials.js';
import { StorageQueue } from './storage/queue.js';
import { nodeEnvironment } from './task-env.js';
import { TaskRunner } from './task-runner.js';

export const AGENT_VERSION = '0.1.0';

type SetupState = 'none' | 'running' | 'succeeded' | 'failed';

/**
 * One boot of the node agent: a new bootId and key pair, its command queue, `registered`, heartbeats, and the
 * commands (setup, runTask with staging, startStaged, unstageTask, killTask) until it is stopped.
 */
export class Agent {
  readonly bootId = randomUUID();
  private readonly keys = newBootKeys();
  private readonly events: EventChannel;
  private readonly commands: CommandLoop;
  private readonly commandQueue: StorageQueue;
  private readonly ctx: MountContext;
  private readonly tasks: TaskRunner;
  private setup: { state: SetupState; id?: string; error?: BatchAiError } = { state: 'none' };
  private heartbeat: NodeJS.Timeout | undefined;
  private containerEngine = false;
  private stopping = false;

  constructor(
    private readonly config: AgentBootConfig,
    private readonly identity: NodeIdentity,
    auth: StorageAuth,
  ) {
    const node: NodeRef = {
      resourceId: config.resourceId,
      scaleSetName: config.scaleSetName,
      instanceId: identity.instanceId,
      vmId: identity.vmId,
      bootId: this.bootId,
    };
    const paths = nodePaths({
      diskRoot: identity.diskRoot,
      networkRoot: identity.networkRoot,
      mountRoot: config.mountRoot,
    });
    this.ctx = {
      paths,
      nodeAuth: auth,
      open: (sealed) => this.keys.open(sealed),
      blobMounts: new Map(),
      mounted: new Map(),
      env: nodeEnvironment(paths, identity.gpus),
      ...(config.identityClientId ? { identityClientId: config.identityClientId } : {}),
    };
    this.events = new EventChannel(new StorageQueue(auth, config.queueEndpoint, NODE_EVENTS_QUEUE), node);
    this.tasks = new TaskRunner(this.ctx, this.events, { bootId: this.bootId, gpus: identity.gpus }, () =>
      // The next job's command is likely on its way, unless it was staged here and has started already: then the
      // app has nothing urgent to send (the job after it is staged while it runs), and polling hot would only load
      // storage (a few hundred empty reads per job on a busy cluster).
      this.tasks.busy() ? undefined : this.commands.taskExited(),
    );
    this.commandQueue = new StorageQueue(
      auth,
      config.queueEndpoint,
      nodeCommandQueueName(config.scaleSetName, identity.instanceId),
    );
    this.commands = new CommandLoop(
      this.commandQueue,
      this.bootId,
      {
        setup: (c) => this.onSetup(c),
        runTask: (c) => this.tasks.run(c),
        killTask: (c) => this.tasks.kill(c),
        startStaged: (c) => this.tasks.startStaged(c),
        unstageTask: (c) => this.tasks.unstage(c),
      },
      {
        // After an outage the app may have given this node up for lost: register again with the full state.
        outageMs: config.heartbeatIntervalMs,
        handler: () => this.register(),
      },
      () => this.tasks.hasRunning(),
    );
  }

  async start(): Promise<void> {
    log.info('agent starting', {
      bootId: this.bootId,
      vm: this.identity.name,
      role: this.config.role,
      commandQueue: this.commandQueue.name,
    });
    await this.tasks.killLeftovers();
    await retrying('create the command queue', () => this.commandQueue.createIfAbsent());
    await retrying('create the event queue', () =>
      new StorageQueue(this.ctx.nodeAuth, this.config.queueEndpoint, NODE_EVENTS_QUEUE).createIfAbsent(),
    );
    if (this.config.role === 'fileServer' && this.config.fileServer) {
      this.setup = { state: 'running' };
      const problem = await prepareFileServer(this.config.fileServer, this.ctx.paths).catch(errorText);
      this.setup = problem ? { state: 'failed' } : { state: 'succeeded' };
      if (problem) log.error('file server export failed', { error: problem });
    }
    this.containerEngine = (await containerEngineProblem()) === undefined;
    this.register();
    this.heartbeat = setInterval(
      () => this.events.emit({ kind: 'heartbeat', tasks: this.tasks.list() }),
      this.config.heartbeatIntervalMs,
    );
    void this.commands.run();
  }

  private register(): void {
    this.events.emit({
      kind: 'registered',
      ipAddress: this.identity.ipAddress,
      port: this.identity.port,
      vmSize: this.identity.vmSize,
      cores: this.identity.cores,
      gpus: this.identity.gpus,
      publicKey: this.keys.publicKey,
      agentVersion: AGENT_VERSION,
      containerEngine: this.containerEngine,
      setup: this.setup.state,
      tasks: this.tasks.list(),
    });
  }

  private async onSetup(command: Extract<AgentCommand, { kind: 'setup' }>): Promise<void> {
    // The same setup asked again (the app retrying): report the outcome again rather than mounting twice.
    if (command.setupId === this.setup.id && this.setup.state !== 'running') {
      this.reportSetup(command.setupId);
      return;
    }
    if (this.setup.state === 'running') {
      log.warn('setup already running; command ignored', { setupId: command.setupId });
      return;
    }
    this.setup = { state: 'running', id: command.setupId };
    const error = await runSetup(command, this.ctx).catch(
      (err): BatchAiError => ({ code: 'SetupTaskFailed', message: `Node setup failed: ${errorText(err)}` }),
    );
    this.setup = error ? { state: 'failed', id: command.setupId, error } : { state: 'succeeded', id: command.setupId };
    this.reportSetup(command.setupId);
  }

  private reportSetup(setupId: string): void {
    if (this.setup.state === 'succeeded') this.events.emit({ kind: 'setupSucceeded', setupId });
    else if (this.setup.error) this.events.emit({ kind: 'setupFailed', setupId, error: this.setup.error });
  }

  /** Graceful stop (SIGTERM, deallocation): `stopping`, tasks killed, events flushed; resolves within a few seconds. */
  async stop(
    reason: 'shutdown' | 'deleted' | 'deallocated' | 'restarting',
    options: { report: boolean },
  ): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.commands.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (options.report) this.events.emit({ kind: 'stopping', reason });
    await Promise.race([this.tasks.killAll(), new Promise((r) => setTimeout(r, 4000))]);
    // What the tasks wrote on blob mounts goes up before the VM does (bounded: the stop must stay quick).
    const syncs = [...this.ctx.blobMounts.values()].flatMap((m) => (m.sync ? [m.sync] : []));
    await Promise.race([
      Promise.all(syncs.map((s) => s.flush().catch(() => {}))),
      new Promise((r) => setTimeout(r, 2000)),
    ]);
    for (const sync of syncs) sync.stop();
    if (options.report) await this.events.drained(2000);
  }
}

async function retrying(what: string, action: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (err) {
      if (attempt === 1) log.warn(`cannot ${what} yet; retrying`, { error: errorText(err) });
      await new Promise((r) => setTimeout(r, Math.min(200 * attempt, 5000)));
    }
  }
}
