// Azurite emits no events, so the emulator lists each watched container every pollIntervalMs and diffs the
// listing against what it saw before (kept in memory, persisted through the store).
import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
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

// After a write hint, list every HINT_STEP_MS until a change shows up or HINT_BURST_MS pass: Azurite writes
// the bytes a few ms before it commits the blob, and how long that takes depends on the machine's load.
const HINT_STEP_MS = 5;
const HINT_BURST_MS = 60;

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
  /** Duration of the last full pass over all containers. */
  lastPassMs = 0;
  // Early wake-ups requested by write hints (see watchAzuriteWrites); polling stays the correctness path.
  private endSleep: (() => void) | undefined;
  private rescan = false;
  private lastHintAt = 0;
  private burstUntil = 0;

  constructor(private readonly o: BlobWatcherOptions) {}

  start(): void {
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.endSleep?.();
    await this.loopDone;
  }

  /** Something was probably just written (see watchAzuriteWrites): list now, and shortly again until it shows. */
  hint(): void {
    if (this.stopped) return;
    this.lastHintAt = performance.now();
    this.burstUntil = this.lastHintAt + HINT_BURST_MS;
    this.wakeNow();
  }

  private wakeNow(): void {
    if (this.endSleep) this.endSleep();
    else this.rescan = true; // mid-pass: go round again without sleeping
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const started = performance.now();
      let allOk = true;
      let changed = false;
      for (const [name, client] of this.o.containers) {
        if (this.stopped) return;
        try {
          if (await this.scan(name, client)) changed = true;
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
      if (this.rescan) {
        this.rescan = false;
        continue;
      }
      // A change found after the last hint is what the hint announced: the burst is over.
      if (changed && this.lastHintAt < started) this.burstUntil = 0;
      const inBurst = performance.now() < this.burstUntil;
      const wait = inBurst ? HINT_STEP_MS : Math.max(5, this.o.intervalMs - this.lastPassMs);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => this.endSleep?.(), wait);
        this.endSleep = () => {
          clearTimeout(t);
          this.endSleep = undefined;
          resolve();
        };
      });
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

  /** Lists one container and commits what changed; true when something did. */
  private async scan(name: string, client: ContainerClient): Promise<boolean> {
    const current = await this.list(client);
    if (this.stopped) return false;
    let known = this.known.get(name);
    if (!known) {
      if (!this.o.store.isBaselined(name)) {
        // First time this container is watched: like a new Azure subscription, report only later writes.
        this.o.store.commitBaseline(name, [...current.values()]);
        this.known.set(name, current);
        this.o.log.info({ container: name, blobs: current.size }, 'container baselined');
        return false;
      }
      known = this.o.store.loadBlobs(name);
    }
    const changes = diffListing(known, current);
    if (changes.length > 0) this.o.commit(name, changes);
    this.known.set(name, current);
    return changes.length > 0;
  }
}

/**
 * Optional latency shortcut: Azurite writes every uploaded blob's bytes to an extent file under
 * `<location>/__blobstorage__`, so a change there is a hint to list now. Copies, deletes and empty blobs
 * write no extent and are still found by polling. Returns undefined (polling only) if it cannot watch.
 */
export function watchAzuriteWrites(location: string, onWrite: () => void, log: Logger): FSWatcher | undefined {
  const dir = join(location, '__blobstorage__');
  try {
    const watcher = watch(dir, { persistent: false }, () => onWrite());
    watcher.on('error', (err) => log.warn({ err, dir }, 'write hints stopped; polling only'));
    log.info({ dir }, 'watching Azurite writes for early listings');
    return watcher;
  } catch (err) {
    log.warn({ err, dir }, 'cannot watch Azurite writes; polling only');
    return undefined;
  }
}
