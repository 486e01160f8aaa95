import type { AgentCommand } from '../shared/domain/agent-protocol.js';
import { CommandPace } from './command-pace.js';
import { errorText, log } from './log.js';
import { decodeMessageText, type ReceivedMessage, type StorageQueue } from './storage/queue.js';
import { StorageError } from './storage/rest.js';
import { parseCommand } from './validate-command.js';

// Polling delays when the queue is empty: see command-pace.ts. Storage errors back off further (the stack may be
// restarting).
const VISIBILITY_TIMEOUT_S = 300;
const REMEMBERED_COMMANDS = 10_000;

export type CommandHandlers = {
  [K in AgentCommand['kind']]: (command: Extract<AgentCommand, { kind: K }>) => Promise<void>;
};

/**
 * The app → agent direction. Each message is handled then deleted (a handler's failure is logged; the message is
 * deleted all the same, since a retry would fail the same way). Commands for another boot are dropped, and a
 * commandId seen before (a redelivery after a visibility timeout, or the app resending) is not run again.
 * Commands run concurrently, so a killTask is never stuck behind a long setup.
 */
export class CommandLoop {
  private readonly seen = new Set<string>();
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly pace = new CommandPace();

  constructor(
    private readonly queue: StorageQueue,
    private readonly bootId: string,
    private readonly handlers: CommandHandlers,
    /** Called when storage answers again after an outage longer than `outageMs`. */
    private readonly reconnected: { outageMs: number; handler: () => void },
    /** Whether this node runs tasks now (the loop polls faster while it does). */
    private readonly busy: () => boolean = () => false,
  ) {}

  /** A task of this node exited: the next job's command is likely on its way, so poll now and fast for a while. */
  taskExited(): void {
    this.pace.taskExited();
    this.wake?.();
  }

  async run(): Promise<void> {
    let failures = 0;
    let failingSince = 0;
    while (!this.stopped) {
      let messages: ReceivedMessage[] = [];
      try {
        messages = await this.queue.receive(32, VISIBILITY_TIMEOUT_S);
        if (failures > 0) {
          log.info('command queue reachable again');
          if (Date.now() - failingSince >= this.reconnected.outageMs) this.reconnected.handler();
        }
        failures = 0;
      } catch (err) {
        if (failures === 0) failingSince = Date.now();
        if (failures++ === 0) log.warn('receiving commands failed; retrying', { error: errorText(err) });
        // The queue is gone (storage lost it, or it was dropped while this boot lives): make it again.
        if (err instanceof StorageError && err.code === 'QueueNotFound')
          await this.queue.createIfAbsent().catch(() => {});
        await this.sleep(Math.min(100 * 2 ** failures, 5000));
        continue;
      }
      for (const message of messages) void this.handle(message);
      this.pace.received(messages.length);
      const delay = this.pace.delayMs(this.busy());
      if (delay > 0) await this.sleep(delay);
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async handle(message: ReceivedMessage): Promise<void> {
    try {
      await this.dispatch(message);
    } catch (err) {
      log.error('command failed', { messageId: message.messageId, error: errorText(err) });
    }
    try {
      await this.queue.delete(message);
    } catch (err) {
      log.warn('deleting a command failed', { messageId: message.messageId, error: errorText(err) });
    }
  }

  private async dispatch(message: ReceivedMessage): Promise<void> {
    const parsed = parseCommand(decodeMessageText(message.text));
    if (!parsed.ok) {
      log.warn('bad command dropped', { messageId: message.messageId, error: parsed.error });
      return;
    }
    const command = parsed.value;
    if (command.bootId !== this.bootId) {
      log.info('command for another boot dropped', { commandId: command.commandId, kind: command.kind });
      return;
    }
    // A setup is idempotent by its setupId (a finished one is re-reported), so the app may resend it to ask again.
    if (command.kind !== 'setup' && this.seen.has(command.commandId)) {
      log.info('command already executed', { commandId: command.commandId, kind: command.kind });
      return;
    }
    this.seen.add(command.commandId);
    if (this.seen.size > REMEMBERED_COMMANDS) this.seen.delete(this.seen.values().next().value as string);
    log.info('command', { commandId: command.commandId, kind: command.kind });
    const handler = this.handlers[command.kind] as (c: AgentCommand) => Promise<void>;
    await handler(command);
  }
}
