// Azurite emits no events, so the emulator lists each watched container every pollIntervalMs and diffs the
// listing against what it saw before (kept in memory, persisted through the store).
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobItem, ContainerClient } from '@azure/storage-blob';
import type { Logger } from 'pino';
import { type BlobChange, type BlobVersion, diffListing } from './blob-events.js';
import type { EventGridStore } from './store.js';

export interface BlobWatcherOptions {
  containers: ReadonlyMap<string, ContainerClient>;
  store: EventGridStore;
  intervalMs: number;
  log: Logger;
  /** Must persist the changes (seen blobs + deliveries) before returning; throwing makes the next poll retry. */
  commit: (container: string, changes: BlobChange[]) => void;
}

export function toBlobVersion(item: BlobItem): BlobVersion {
  const p = item.properties;
  return {
    name: item.name,
    // Azure's events carry the etag without the HTTP quotes.
    etag: (p.etag ?? '').replace(/^"|"$/g, ''),
    createdOn: p.createdOn?.toISOString() ?? '',
    contentLength: p.contentLength ?? 0,
    contentMd5: p.contentMD5 ? Buffer.from(p.contentMD5).toString('base64') : '',
    contentType: p.contentType ?? 'application/octet-stream',
    blobType: p.blobType ?? 'BlockBlob',
    ...(p.accessTier ? { accessTier: p.accessTier } : {}),
  };
}

function isContainerNotFound(err: unknown): boolean {
  return (err as { statusCode?: number; code?: string } | null)?.code === 'ContainerNotFound';
}

export class BlobWatcher {
  private readonly known = new Map<string, Map<string, BlobVersion>>();
  private readonly abort = new AbortController();
  private stopped = false;
  private loopDone: Promise<void> = Promise.resolve();
  private markReady: () => void = () => {};
  /** Resolves once every watched container has been listed successfully once. */
  readonly ready: Promise<void> = new Promise((r) => {
    this.markReady = r;
  });
  private lastErrorLogAt = 0;
  /** Duration of the last full pass over all containers, for the health endpoint. */
  lastPassMs = 0;

  constructor(private readonly o: BlobWatcherOptions) {}

  start(): void {
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const started = performance.now();
      let allOk = true;
      for (const [name, client] of this.o.containers) {
        if (this.stopped) return;
        try {
          await this.scan(name, client);
        } catch (err) {
          allOk = false;
          if (this.stopped) return;
          // Azurite restarting or slow: keep polling, but do not flood the log.
          if (Date.now() - this.lastErrorLogAt > 10_000) {
            this.lastErrorLogAt = Date.now();
            this.o.log.warn({ err, container: name }, 'listing blobs failed; will keep polling');
          }
        }
      }
      if (allOk) this.markReady();
      this.lastPassMs = performance.now() - started;
      const wait = Math.max(5, this.o.intervalMs - this.lastPassMs);
      await sleep(wait, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  private async list(client: ContainerClient): Promise<Map<string, BlobVersion>> {
    const current = new Map<string, BlobVersion>();
    try {
      for await (const item of client.listBlobsFlat({ abortSignal: this.abort.signal })) {
        current.set(item.name, toBlobVersion(item));
      }
    } catch (err) {
      // A container that does not exist yet is simply empty: blobs written once it exists are new.
      if (!isContainerNotFound(err)) throw err;
    }
    return current;
  }

  private async scan(name: string, client: ContainerClient): Promise<void> {
    const current = await this.list(client);
    if (this.stopped) return;
    let known = this.known.get(name);
    if (!known) {
      if (!this.o.store.isBaselined(name)) {
        // First time this container is watched: like a new Azure subscription, report only later writes.
        this.o.store.commitBaseline(name, [...current.values()]);
        this.known.set(name, current);
        this.o.log.info({ container: name, blobs: current.size }, 'container baselined');
        return;
      }
      known = this.o.store.loadBlobs(name);
    }
    const changes = diffListing(known, current);
    if (changes.length > 0) this.o.commit(name, changes);
    this.known.set(name, current);
  }
}
