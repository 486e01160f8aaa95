import type { AgentEvent, NodeRef } from '../shared/domain/agent-protocol.js';
import { AGENT_PROTOCOL_VERSION } from '../shared/domain/agent-wire.js';
import { errorText, log } from './log.js';
import { encodeMessageText, type StorageQueue } from './storage/queue.js';
import { StorageError } from './storage/rest.js';

type Body<E> = E extends AgentEvent ? Omit<E, 'v' | 'node' | 'seq' | 'at'> : never;
export type EventBody = Body<AgentEvent>;

/**
 * The agent → app direction: every event gets this boot's node ref and the next seq, and goes out in seq order
 * through an outbox that retries while storage is unreachable, so a storage restart loses no event.
 */
export class EventChannel {
  private seq = 0;
  private readonly outbox: Array<{ kind: EventBody['kind']; seq: number; text: string }> = [];
  private sending: Promise<void> | undefined;
  private idle: Array<() => void> = [];

  constructor(
    private readonly queue: StorageQueue,
    private readonly node: NodeRef,
  ) {}

  emit(body: EventBody): void {
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
