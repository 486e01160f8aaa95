// What the emulator must remember across restarts: blobs already seen (so they are not announced again),
// the outbox of pending deliveries (at-least-once), which subscriptions passed the handshake, and the
// sequencer counter. One interface, implemented by SqliteEventGridStore.
import type { BlobVersion } from './blob-events.js';

export interface NewDelivery {
  subscription: string;
  eventId: string;
  /** The event exactly as it will be sent, already in the subscription's schema. */
  payload: string;
  dataVersion: string;
}

export interface OutboxEntry extends NewDelivery {
  id: number;
  enqueuedAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: number | null;
}

export interface BlobCommit {
  container: string;
  upserts: BlobVersion[];
  deletes: string[];
  deliveries: NewDelivery[];
}

export interface EventGridStore {
  isBaselined(container: string): boolean;
  loadBlobs(container: string): Map<string, BlobVersion>;
  /** First sight of a container: remember its blobs without announcing them (Azure only reports later writes). */
  commitBaseline(container: string, blobs: BlobVersion[]): void;
  /** Seen-blob updates and the deliveries they cause, in one transaction: a crash loses or repeats neither. */
  commitBlobChanges(commit: BlobCommit, now: number): void;
  /** Reserves `count` sequencer values and returns the first. */
  allocateSequencers(count: number): number;
  enqueue(deliveries: NewDelivery[], now: number): void;
  dueEntries(now: number, subscriptions: readonly string[], exclude: readonly number[], limit: number): OutboxEntry[];
  nextDueAt(subscriptions: readonly string[], exclude: readonly number[]): number | undefined;
  recordFailure(
    id: number,
    update: { attempts: number; nextAttemptAt: number; status: number | null; error: string | null; at: number },
  ): void;
  remove(id: number): void;
  entriesEnqueuedBefore(subscription: string, before: number, exclude: readonly number[]): OutboxEntry[];
  pendingCount(subscription: string): number;
  validatedKey(subscription: string): string | undefined;
  markValidated(subscription: string, key: string, now: number): void;
  close(): void;
}
