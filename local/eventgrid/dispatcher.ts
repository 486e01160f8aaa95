// Drains the outbox: validates each subscription's endpoint once, then pushes due entries, applies Azure's
// retry decision to failures and dead-letters what cannot be delivered. The outbox lives in the store, so a
// restart resumes exactly where the last process stopped (an attempt cut short by shutdown is not counted).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Subscription } from './config.js';
import { writeDeadLetter } from './dead-letter.js';
import { deliverEvent } from './deliver-event.js';
import { type DeadLetterReason, decideAfterFailure, isExpired, isSuccessStatus } from './retry-schedule.js';
import type { EventGridStore, OutboxEntry } from './store.js';
import { validateSubscription } from './validate-subscription.js';

export interface DispatcherOptions {
  store: EventGridStore;
  subscriptions: readonly Subscription[];
  dataDir: string;
  log: Logger;
  retryTimeScale: number;
  deliveryTimeoutMs: number;
  maxConcurrentDeliveries: number;
  /** The topic a subscription's validation event names. */
  topicFor: (sub: Subscription) => string;
  /** Where an endpoint can GET to complete the handshake by hand. */
  validationUrlFor: (sub: Subscription, code: string) => string;
}

// Until an endpoint validates, the handshake is retried quickly (a Functions host usually starts after the
// emulator) and then every few seconds; this is the emulator's stand-in for "create the subscription again".
const HANDSHAKE_BACKOFF_MS = [100, 250, 500, 1000, 2000, 5000];
const SWEEP_INTERVAL_MS = 10_000;

/** Hides function keys (`code=`) and other query secrets from logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) if (/code|key|sig|token/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

function endpointKey(sub: Subscription): string {
  return `${sub.schema} ${sub.endpoint}`;
}

export class Dispatcher {
  private readonly subs: Map<string, Subscription>;
  private readonly validated = new Set<string>();
  private readonly pendingCodes = new Map<string, string>();
  private readonly inflight = new Map<number, Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private wakeTimer: NodeJS.Timeout | undefined;
  private runQueued = false;
  private stopped = false;

  constructor(private readonly o: DispatcherOptions) {
    this.subs = new Map(o.subscriptions.map((s) => [s.name, s]));
  }

  start(): void {
    for (const sub of this.subs.values()) {
      if (this.o.store.validatedKey(sub.name) === endpointKey(sub)) this.validated.add(sub.name);
      else void this.handshake(sub, 0);
    }
    this.every(SWEEP_INTERVAL_MS, () => this.sweepExpired());
    this.kick();
  }

  /** Something changed (new entries, an attempt finished, a subscription validated): look again soon. */
  kick(): void {
    if (this.stopped || this.runQueued) return;
    this.runQueued = true;
    setImmediate(() => {
      this.runQueued = false;
      this.run();
    });
  }

  isValidated(name: string): boolean {
    return this.validated.has(name);
  }

  /** The manual handshake: the endpoint (or a person) GETs the validationUrl it was given. */
  confirmValidation(name: string, code: string): boolean {
    const sub = this.subs.get(name);
    if (!sub || this.pendingCodes.get(name) !== code) return false;
    this.markValidated(sub);
    return true;
  }

  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    for (const t of this.timers) clearTimeout(t);
    const all = Promise.allSettled(this.inflight.values());
    const grace = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    await Promise.race([all, grace]);
    // Whatever is still in flight is abandoned uncounted; it stays in the outbox for the next start.
    this.abort.abort();
    await all;
  }

  private run(): void {
    if (this.stopped) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    const now = Date.now();
    const subs = [...this.validated];
    const free = this.o.maxConcurrentDeliveries - this.inflight.size;
    if (free > 0 && subs.length > 0) {
      for (const entry of this.o.store.dueEntries(now, subs, [...this.inflight.keys()], free)) this.launch(entry);
    }
    if (this.inflight.size >= this.o.maxConcurrentDeliveries || subs.length === 0) return;
    const next = this.o.store.nextDueAt(subs, [...this.inflight.keys()]);
    if (next !== undefined) {
      this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, next - Date.now()));
    }
  }

  private launch(entry: OutboxEntry): void {
    const p = this.attempt(entry)
      .catch((err: unknown) => this.o.log.error({ err, entry: entry.id }, 'delivery bookkeeping failed'))
      .finally(() => {
        this.inflight.delete(entry.id);
        this.kick();
      });
    this.inflight.set(entry.id, p);
  }

  private async attempt(entry: OutboxEntry): Promise<void> {
    const sub = this.subs.get(entry.subscription);
    if (!sub) return;
    if (isExpired(entry.enqueuedAt, Date.now(), sub.retryPolicy, this.o.retryTimeScale)) {
      await this.deadLetter(entry, 'TimeToLiveExceeded');
      return;
    }
    const outcome = await deliverEvent(sub, entry, this.o.deliveryTimeoutMs, this.abort.signal);
    if (this.abort.signal.aborted) return;
    const now = Date.now();
    const log = { subscription: sub.name, eventId: entry.eventId, attempt: entry.attempts + 1 };
    if (isSuccessStatus(outcome.status)) {
      this.o.store.remove(entry.id);
      this.o.log.info({ ...log, status: outcome.status, latencyMs: now - entry.enqueuedAt }, 'delivered');
      return;
    }
    const failed: OutboxEntry = {
      ...entry,
      attempts: entry.attempts + 1,
      lastStatus: outcome.status ?? null,
      lastError: outcome.error ?? null,
      lastAttemptAt: now,
    };
    const decision = decideAfterFailure(
      { attempts: failed.attempts, status: outcome.status, enqueuedAt: entry.enqueuedAt, now },
      sub.retryPolicy,
      this.o.retryTimeScale,
    );
    if (decision.kind === 'retry') {
      this.o.store.recordFailure(entry.id, {
        attempts: failed.attempts,
        nextAttemptAt: now + decision.delayMs,
        status: failed.lastStatus,
        error: failed.lastError,
        at: now,
      });
      this.o.log.warn(
        { ...log, status: outcome.status, error: outcome.error, retryInMs: decision.delayMs },
        'delivery failed',
      );
      return;
    }
    await this.deadLetter(failed, decision.reason);
  }

  private async deadLetter(entry: OutboxEntry, reason: DeadLetterReason): Promise<void> {
    // File first, then forget: a crash in between dead-letters twice rather than never.
    await writeDeadLetter(this.o.dataDir, entry, reason);
    this.o.store.remove(entry.id);
    this.o.log.warn(
      {
        subscription: entry.subscription,
        eventId: entry.eventId,
        reason,
        attempts: entry.attempts,
        status: entry.lastStatus,
      },
      'dead-lettered',
    );
  }

  private sweepExpired(): void {
    // Entries of subscriptions that never validated are not attempted, so their time-to-live is checked here.
    const now = Date.now();
    for (const sub of this.subs.values()) {
      if (this.validated.has(sub.name)) continue;
      const before = now - sub.retryPolicy.eventTimeToLiveMs * this.o.retryTimeScale;
      for (const entry of this.o.store.entriesEnqueuedBefore(sub.name, before, [])) {
        void this.deadLetter(entry, 'TimeToLiveExceeded').catch((err: unknown) =>
          this.o.log.error({ err }, 'dead-lettering failed'),
        );
      }
    }
  }

  private async handshake(sub: Subscription, failures: number): Promise<void> {
    if (this.stopped || this.validated.has(sub.name)) return;
    const code = this.pendingCodes.get(sub.name) ?? randomUUID();
    this.pendingCodes.set(sub.name, code);
    const result = await validateSubscription(sub, {
      topic: this.o.topicFor(sub),
      validationCode: code,
      validationUrl: this.o.validationUrlFor(sub, code),
      timeoutMs: this.o.deliveryTimeoutMs,
      signal: this.abort.signal,
    });
    if (this.stopped || this.validated.has(sub.name)) return;
    if (result.ok) {
      this.markValidated(sub);
      return;
    }
    const delay = HANDSHAKE_BACKOFF_MS[Math.min(failures, HANDSHAKE_BACKOFF_MS.length - 1)] ?? 5000;
    // Log the first failure and then only occasionally: the endpoint being down at start is normal.
    if (failures === 0 || failures % 20 === 0) {
      this.o.log.warn(
        { subscription: sub.name, endpoint: redactUrl(sub.endpoint), detail: result.detail },
        'endpoint validation pending',
      );
    }
    this.after(delay, () => void this.handshake(sub, failures + 1));
  }

  private markValidated(sub: Subscription): void {
    this.validated.add(sub.name);
    this.pendingCodes.delete(sub.name);
    this.o.store.markValidated(sub.name, endpointKey(sub), Date.now());
    this.o.log.info(
      { subscription: sub.name, endpoint: redactUrl(sub.endpoint), schema: sub.schema },
      'endpoint validated',
    );
    this.kick();
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private every(ms: number, fn: () => void): void {
    this.after(ms, () => {
      fn();
      this.every(ms, fn);
    });
  }
}
