import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueServiceClient } from '@azure/storage-queue';
import type { AgentBootConfig } from '../../../shared/domain/agent-bootstrap.js';
import {
  type AgentCommand,
  type AgentEvent,
  LOCAL_VM_ENV,
  NODE_EVENTS_QUEUE,
  nodeCommandQueueName,
  parseAgentEvent,
} from '../../../shared/domain/index.js';
import { startTestStack, type TestStack } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';

export { waitFor };

const AGENT_MAIN = fileURLToPath(new URL('../../../agent/main.js', import.meta.url));
const HOST_PROCESS = fileURLToPath(new URL('./spawn-with-ipc.js', import.meta.url));
export const MOUNT_ROOT = '/mnt/batch/tasks/shared/LS_root/mounts';

/**
 * A real Azurite, the real agent processes (spawned as the local compute emulator does: LOCAL_VM_ENV set, an IPC
 * channel to the parent) and the app's side of the protocol played with the official Storage SDK: commands sent
 * base64-encoded as the Functions output binding does, events read off node-events and parsed with the contract's
 * zod schema.
 */
export class AgentHarness {
  readonly events: AgentEvent[] = [];
  readonly rawEvents: string[] = [];
  private polling = true;
  private poller: Promise<void> | undefined;
  private readonly agents: RunningAgent[] = [];

  private constructor(
    readonly stack: TestStack,
    readonly root: string,
    readonly networkRoot: string,
  ) {}

  static async start(): Promise<AgentHarness> {
    const stack = await startTestStack({ services: ['azurite'] });
    const root = await mkdtemp(join(tmpdir(), 'batchai-agent-'));
    const networkRoot = join(root, 'network');
    await mkdir(networkRoot, { recursive: true });
    const h = new AgentHarness(stack, root, networkRoot);
    await h.queues.getQueueClient(NODE_EVENTS_QUEUE).createIfNotExists();
    h.poller = h.poll();
    return h;
  }

  get connectionString(): string {
    return this.stack.descriptor.storage.connectionString;
  }

  get queues(): QueueServiceClient {
    return QueueServiceClient.fromConnectionString(this.connectionString);
  }

  private async poll(): Promise<void> {
    const queue = this.queues.getQueueClient(NODE_EVENTS_QUEUE);
    while (this.polling) {
      try {
        const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
        for (const m of receivedMessageItems) {
          const text = Buffer.from(m.messageText, 'base64').toString('utf8');
          this.rawEvents.push(m.messageText, text);
          const parsed = parseAgentEvent(text);
          if (!parsed.ok) throw new Error(`the agent sent an event the contract rejects: ${parsed.error}: ${text}`);
          this.events.push(parsed.value);
          await queue.deleteMessage(m.messageId, m.popReceipt);
        }
        if (receivedMessageItems.length === 0) await new Promise((r) => setTimeout(r, 50));
      } catch {
        // Storage restarting (a test may restart it): poll again shortly.
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Starts an agent as VM `instanceId` of `scaleSet`; `disk` defaults to a new directory. */
  async startAgent(
    options: {
      scaleSet?: string;
      instanceId?: string;
      role?: AgentBootConfig['role'];
      fileServer?: AgentBootConfig['fileServer'];
      viaHostProcess?: boolean;
    } = {},
  ): Promise<RunningAgent> {
    const scaleSet = options.scaleSet ?? `bai-c${randomUUID().slice(0, 8)}`;
    const instanceId = options.instanceId ?? '0';
    const disk = join(this.root, `${scaleSet}_${instanceId}`);
    const config: AgentBootConfig = {
      v: 1,
      role: options.role ?? 'clusterNode',
      resourceId: `/subscriptions/0/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/clusters/${scaleSet}`,
      scaleSetName: scaleSet,
      queueEndpoint: this.stack.descriptor.storage.queueEndpoint,
      blobEndpoint: this.stack.descriptor.storage.blobEndpoint,
      heartbeatIntervalMs: 500,
      mountRoot: MOUNT_ROOT,
      ...(options.fileServer ? { fileServer: options.fileServer } : {}),
    };
    const configPath = join(disk, 'etc/batchai/agent.json');
    await mkdir(join(disk, 'etc/batchai'), { recursive: true });
    await writeFile(configPath, JSON.stringify(config));
    const vmId = randomUUID();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      [LOCAL_VM_ENV.resourceId]: `/subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/${scaleSet}/virtualMachines/${instanceId}`,
      [LOCAL_VM_ENV.vmId]: vmId,
      [LOCAL_VM_ENV.name]: `${scaleSet}_${instanceId}`,
      [LOCAL_VM_ENV.instanceId]: instanceId,
      [LOCAL_VM_ENV.vmSize]: 'STANDARD_D2_V2',
      [LOCAL_VM_ENV.priority]: 'Regular',
      [LOCAL_VM_ENV.diskRoot]: disk,
      [LOCAL_VM_ENV.ipAddress]: '127.0.0.1',
      [LOCAL_VM_ENV.port]: '50022',
      [LOCAL_VM_ENV.networkRoot]: this.networkRoot,
      [LOCAL_VM_ENV.storageConnectionString]: this.connectionString,
    };
    const child = options.viaHostProcess
      ? spawn(process.execPath, [HOST_PROCESS, AGENT_MAIN, '--config', configPath], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(process.execPath, [AGENT_MAIN, '--config', configPath], {
          env,
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        });
    const agent = new RunningAgent(this, child, scaleSet, instanceId, vmId, disk);
    this.agents.push(agent);
    return agent;
  }

  async send(agent: RunningAgent, command: AgentCommand | Record<string, unknown> | string): Promise<void> {
    const text = typeof command === 'string' ? command : JSON.stringify(command);
    await this.queues
      .getQueueClient(nodeCommandQueueName(agent.scaleSet, agent.instanceId))
      .sendMessage(Buffer.from(text, 'utf8').toString('base64'));
  }

  async dispose(): Promise<void> {
    for (const a of this.agents) a.kill();
    this.polling = false;
    await this.poller;
    await this.stack.dispose();
    await rm(this.root, { recursive: true, force: true });
  }
}

export class RunningAgent {
  readonly output: string[] = [];
  exited: Promise<{ code: number | null; signal: string | null }>;

  constructor(
    private readonly harness: AgentHarness,
    readonly child: ChildProcess,
    readonly scaleSet: string,
    readonly instanceId: string,
    readonly vmId: string,
    readonly disk: string,
  ) {
    child.stdout?.on('data', (c: Buffer) => this.output.push(c.toString()));
    child.stderr?.on('data', (c: Buffer) => this.output.push(c.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get mountRoot(): string {
    return join(this.disk, MOUNT_ROOT);
  }

  /** Events of this VM, in arrival order. */
  events(): AgentEvent[] {
    return this.harness.events.filter((e) => e.node.vmId === this.vmId);
  }

  async event<K extends AgentEvent['kind']>(
    kind: K,
    match: (e: Extract<AgentEvent, { kind: K }>) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<Extract<AgentEvent, { kind: K }>> {
    return waitFor(
      `${kind} from ${this.scaleSet}_${this.instanceId}`,
      () => this.events().find((e): e is Extract<AgentEvent, { kind: K }> => e.kind === kind && match(e as never)),
      timeoutMs,
      20,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- agent output ---\n${this.output.join('')}`);
    });
  }

  async registered(): Promise<Extract<AgentEvent, { kind: 'registered' }>> {
    return this.event('registered');
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

type CommandBody<C = AgentCommand> = C extends AgentCommand
  ? Omit<C, 'v' | 'bootId' | 'commandId'> & { commandId?: string }
  : never;

/** A command addressed to this boot of the agent. */
export function command(registered: Extract<AgentEvent, { kind: 'registered' }>, body: CommandBody): AgentCommand {
  return { v: 1, bootId: registered.node.bootId, commandId: randomUUID(), ...body } as AgentCommand;
}
