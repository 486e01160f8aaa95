// Events leave through a durable outbox: an ARM call or a fault commits its events with its records, and this
// publisher sends them to the Event Grid custom topic with @azure/eventgrid. Event Grid starts after the Functions
// host in the local stack (and may restart), so sending retries with back-off until it is accepted; nothing is
// lost while Event Grid is down, and nothing blocks the ARM answer.
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import type { Logger } from 'pino';
import type { EventGridEvent } from './events.js';
import type { ComputeStore } from './store.js';

const BATCH = 100;
const MAX_BACKOFF_MS = 5000;

export interface EventTarget {
  /** The custom topic endpoint (…/api/events). */
  endpoint: string;
  key: string;
}

export class EventOutbox {
  private readonly client: EventGridPublisherClient<'EventGrid'> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly store: ComputeStore,
    target: EventTarget | undefined,
    private readonly log: Logger,
  ) {
    this.client = target
      ? new EventGridPublisherClient(target.endpoint, 'EventGrid', new AzureKeyCredential(target.key), {
          // The local topic is plain http on loopback.
          allowInsecureConnection: true,
          // Retries are this outbox's job: it keeps order and survives a restart.
          retryOptions: { maxRetries: 0 },
        })
      : undefined;
  }

  /** Commits events (call inside the store transaction that records what they announce), then sends soon. */
  add(events: EventGridEvent[], now = Date.now()): void {
    if (events.length === 0) return;
    this.store.enqueueEvents(
      events.map((e) => ({ id: e.id, eventType: e.eventType, subject: e.subject, payload: JSON.stringify(e) })),
      now,
    );
  }

  /** Sends what is due now (coalesced: one send loop at a time). */
  kick(): void {
    if (!this.client || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    const client = this.client;
    if (!client) return;
    for (;;) {
      const due = this.store.duePublications(Date.now(), BATCH);
      if (due.length === 0 || this.stopped) return;
      try {
        await client.send(
          due.map((entry) => {
            const e = JSON.parse(entry.payload) as EventGridEvent;
            return { ...e, eventTime: new Date(e.eventTime) };
          }),
        );
        this.failures = 0;
        if (this.stopped) return;
        this.store.markPublished(
          due.map((e) => e.seq),
          Date.now(),
        );
      } catch (err) {
        this.failures++;
        const backoff = Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(this.failures, 6));
        if (this.stopped) return;
        this.store.markPublishFailed(
          due.map((e) => e.seq),
          Date.now() + backoff,
          String((err as Error).message ?? err).slice(0, 500),
        );
        if (this.failures === 1 || this.failures % 20 === 0)
          this.log.warn({ err: (err as Error).message, pending: due.length }, 'event grid not reachable; will retry');
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.kick(), backoff);
        this.timer.unref();
        return;
      }
    }
  }

  start(): void {
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
