// The watcher saw blobs appear, change or go: shape the BlobCreated/BlobDeleted events, fan them out to the
// container's subscriptions and commit seen-blob state and deliveries in one transaction.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { type BlobChange, blobCreatedEvent, blobDeletedEvent, formatSequencer } from './blob-events.js';
import type { Subscription } from './config.js';
import type { AnyEvent } from './event-schemas.js';
import { fanOut } from './fan-out.js';
import type { EventGridStore } from './store.js';

export interface AnnounceDeps {
  store: EventGridStore;
  subscriptions: readonly Subscription[];
  /** The storage account's topic id. */
  topic: string;
  account: string;
  log: Logger;
}

/** Returns how many deliveries were queued. */
export function announceBlobChanges(
  deps: AnnounceDeps,
  batch: { container: string; changes: BlobChange[]; urlOf: (blobName: string) => string },
): number {
  const { container, changes } = batch;
  // 'touched' (metadata/property updates) only refresh what was seen; Azure raises no event for them.
  const announced = changes.filter((c) => c.kind !== 'touched');
  const now = new Date();
  const firstSequencer = announced.length > 0 ? deps.store.allocateSequencers(announced.length) : 0;
  const events: AnyEvent[] = announced.map((change, i) => {
    const ctx = {
      topic: deps.topic,
      account: deps.account,
      container,
      url: batch.urlOf(change.blob.name),
      sequencer: formatSequencer(firstSequencer + i),
      eventTime: now.toISOString(),
      requestId: randomUUID(),
    };
    const event = change.kind === 'created' ? blobCreatedEvent(change.blob, ctx) : blobDeletedEvent(change.blob, ctx);
    return { schema: 'EventGridSchema', event };
  });
  const deliveries = fanOut(deps.subscriptions, `container:${container}`, events, now);
  deps.store.commitBlobChanges(
    {
      container,
      upserts: changes.filter((c) => c.kind !== 'deleted').map((c) => c.blob),
      deletes: changes.filter((c) => c.kind === 'deleted').map((c) => c.blob.name),
      deliveries,
    },
    now.getTime(),
  );
  for (const e of events) {
    deps.log.info(
      {
        container,
        eventType: e.schema === 'EventGridSchema' ? e.event.eventType : e.event.type,
        subject: e.event.subject,
        deliveries: deliveries.filter((d) => d.eventId === e.event.id).length,
      },
      'blob event',
    );
  }
  return deliveries.length;
}
