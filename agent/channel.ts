import type { AgentEvent, NodeRef } from '../shared/domain/agent-protocol.js';
import { AGENT_PROTOCOL_VERSION } from '../shared/domain/agent-wire.js';
import { errorText, log } from './log.js';
import { encodeMessageText, type StorageQueue } from './storage/queue.js';

type Body<E> = E extends AgentEvent ? Omit<E, 'v' | 'node' | 'seq' | 'at'> : never;
export type EventBody = Body<AgentEvent>;

/**
 * The agent → app direction: every event gets this boot's node ref and the next seq, and goes out in seq order
 * through an outbox that retries while storage is unreachable, so a storage restart loses no event.
 */
export class EventChannel {
  private seq = 0;
  private readonly outbox: string[] = [];
  private sending: Promise<void> | undefined;
  private idle: Array<() => void> = [];

  constructor(
    private readonly queue: StorageQueue,
    private readonly node: NodeRef,
  ) {}

  emit(body: EventBody): void {
    const event = {
      v: AGENT_PROTOCOL_VERSION,
      node: this.node,
      seq: this.seq++,
      at: new Date().toISOString(),
      ...body,
    };
    this.outbox.push(encodeMessageText(JSON.stringify(event)));
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
        await this.queue.send(this.outbox[0] as string);
        this.outbox.shift();
        backoff = 100;
      } catch (err) {
        log.warn('sending an event failed; retrying', { error: errorText(err), pending: this.outbox.length });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
    this.sending = undefined;
    for (const done of this.idle.splice(0)) done();
  }
}
