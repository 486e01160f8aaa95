import type { AgentEvent, NodeRef, TaskExit } from '../shared/domain/agent-protocol.js';
import { AGENT_PROTOCOL_VERSION } from '../shared/domain/agent-wire.js';
import { errorText, log } from './log.js';
import { encodeMessageText, type StorageQueue } from './storage/queue.js';
import { StorageError } from './storage/rest.js';

type Body<E> = E extends AgentEvent ? Omit<E, 'v' | 'node' | 'seq' | 'at'> : never;
export type EventBody = Body<AgentEvent>;

/** Exits remembered for `registered` (re-sent on reconnect), newest last. */
const REMEMBERED_EXITS = 64;
/** How many heartbeats after an exit carry it again. */
const HEARTBEATS_PER_EXIT = 3;
/**
 * JSON characters of re-reported exits per event: a queue message holds 64 KiB (of base64), and one the queue refuses
 * would block the outbox. Newest exits first; an older one left out still has its own `taskExited`.
 */
const EXITS_BUDGET_CHARS = 16_000;

function newestWithin(exits: TaskExit[]): TaskExit[] {
  const kept: TaskExit[] = [];
  let size = 0;
  for (const exit of [...exits].reverse()) {
    size += JSON.stringify(exit).length + 1;
    if (size > EXITS_BUDGET_CHARS) break;
    kept.unshift(exit);
  }
  return kept;
}

/**
 * The agent → app direction: every event gets this boot's node ref and the next seq, and goes out in seq order
 * through an outbox that retries while storage is unreachable, so a storage restart loses no event.
 *
 * A sent message can still be lost (a storage emulator that had not saved it yet, a queue dropped and made again),
 * so no job may depend on one `taskExited` arriving: the channel remembers recent exits, the next few heartbeats
 * carry them again and a `registered` (at start, and on reconnecting after an outage) carries all it remembers. The
 * app hands each to the job's lifecycle, which acts on the first and ignores repeats.
 */
export class EventChannel {
  private seq = 0;
  private readonly exits: Array<{ exit: TaskExit; heartbeatsLeft: number }> = [];
  private readonly outbox: Array<{ kind: EventBody['kind']; seq: number; text: string }> = [];
  private sending: Promise<void> | undefined;
  private idle: Array<() => void> = [];

  constructor(
    private readonly queue: StorageQueue,
    private readonly node: NodeRef,
  ) {}

  emit(input: EventBody): void {
    const body = this.withExits(input);
    // While storage is unreachable, a heartbeat replaces the one still waiting behind the event in flight (same
    // seq, newer content), so a long outage does not pile up heartbeats, and seq stays gapless.
    const last = this.outbox.length > 1 ? this.outbox[this.outbox.length - 1] : undefined;
    const seq = body.kind === 'heartbeat' && last?.kind === 'heartbeat' ? last.seq : this.seq++;
    const event = { v: AGENT_PROTOCOL_VERSION, node: this.node, seq, at: new Date().toISOString(), ...body };
    const entry = { kind: body.kind, seq, text: encodeMessageText(JSON.stringify(event)) };
    if (last && seq === last.seq) this.outbox[this.outbox.length - 1] = entry;
    else this.outbox.push(entry);
    if (body.kind !== 'heartbeat') log.info('event', { kind: body.kind, seq: event.seq });
    this.sending ??= this.flush();
  }

  /** Exits to report again: remembered from `taskExited`, attached to `heartbeat` and `registered`. */
  private withExits(body: EventBody): EventBody {
    if (body.kind === 'taskExited') {
      const { kind: _k, ...exit } = body;
      this.exits.push({ exit, heartbeatsLeft: HEARTBEATS_PER_EXIT });
      if (this.exits.length > REMEMBERED_EXITS) this.exits.shift();
      return body;
    }
    if (body.kind === 'registered') {
      const exits = newestWithin(this.exits.map((e) => e.exit));
      return exits.length > 0 ? { ...body, exits } : body;
    }
    if (body.kind === 'heartbeat') {
      const due = this.exits.filter((e) => e.heartbeatsLeft > 0);
      for (const e of due) e.heartbeatsLeft--;
      const exits = newestWithin(due.map((e) => e.exit));
      return exits.length > 0 ? { ...body, exits } : body;
    }
    return body;
  }

  /** Resolves when every event emitted so far has been sent, or after timeoutMs (false then). */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.outbox.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private async flush(): Promise<void> {
    let backoff = 100;
    while (this.outbox.length > 0) {
      try {
        await this.queue.send((this.outbox[0] as { text: string }).text);
        this.outbox.shift();
        backoff = 100;
      } catch (err) {
        log.warn('sending an event failed; retrying', { error: errorText(err), pending: this.outbox.length });
        if (err instanceof StorageError && err.code === 'QueueNotFound')
          await this.queue.createIfAbsent().catch(() => {});
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
    this.sending = undefined;
    for (const done of this.idle.splice(0)) done();
  }
}
