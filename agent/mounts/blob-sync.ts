import { type Dirent, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { errorText, log } from '../log.js';
import type { BlobContainer } from '../storage/blob.js';

// The local stand-in for blobfuse2 (no FUSE here): the mount is a directory kept in sync with the container.
// - at mount, every blob is downloaded, so what the container holds is there;
// - every second the directory is scanned; a file whose size and mtime have not changed since the previous scan
//   (closed or at least quiet, as blobfuse uploads on close) and differ from what was last synced is uploaded, so a
//   file written on the node is in the container within ~2 s; a synced file deleted on the node is deleted;
// - every 2 s the container is listed; blobs that are new or changed (etag) and not being written here are
//   downloaded, blobs deleted elsewhere are removed here, so other nodes' files appear as blobfuse lists them.
// While no task runs on the node, the listing slows to every 10 s (blobfuse2 itself caches listings for 120 s): a
// listing is the costly part (its XML churns the heap; measured, an idle agent stays ~8 MB smaller), and a task
// that starts switches back to the fast pace.

const PACE = {
  active: { scanMs: 1000, refreshMs: 2000 },
  idle: { scanMs: 1000, refreshMs: 10_000 },
};

interface Known {
  size: number;
  mtimeMs: number;
  etag: string;
}

export class BlobSync {
  /** Relative path → state at the last sync in either direction. */
  private readonly known = new Map<string, Known>();
  /** Relative path → size/mtime seen by the previous scan (a file is stable when it matches twice). */
  private readonly seen = new Map<string, { size: number; mtimeMs: number }>();
  /** Files another writer owns (live logs shipped as append blobs): never uploaded by the sync. */
  private readonly excluded = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastRefresh = 0;
  private lastScan = 0;
  private pace = PACE.idle;
  private busy = false;

  constructor(
    readonly container: BlobContainer,
    readonly dir: string,
  ) {}

  /** Downloads the container into the directory; throws when the container cannot be read. */
  async start(): Promise<void> {
    // What a previous boot left in the directory is not the container (blobfuse would hide it): start from the blobs.
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    await this.pull();
    this.timer = setInterval(() => void this.tick(), PACE.active.scanMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Uploads every changed file now, without waiting for it to be quiet: called when a task has exited (its files
   * are closed), so its outputs are in the container before the app hears that the task ended.
   */
  async flush(): Promise<void> {
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    this.busy = true;
    try {
      await this.push(true);
    } finally {
      this.busy = false;
    }
  }

  exclude(realPath: string): void {
    this.excluded.add(this.rel(realPath));
  }

  /** The shipper has put the final content in the container: take the file as synced and stop excluding it. */
  async adopt(realPath: string, etag: string): Promise<void> {
    const rel = this.rel(realPath);
    try {
      const s = await stat(realPath);
      this.known.set(rel, { size: s.size, mtimeMs: s.mtimeMs, etag });
    } catch {}
    this.excluded.delete(rel);
  }

  private rel(realPath: string): string {
    return relative(this.dir, realPath).split(sep).join('/');
  }

  /** Tasks are running on the node (fast pace) or not (slow pace). */
  setActive(active: boolean): void {
    this.pace = active ? PACE.active : PACE.idle;
  }

  private async tick(): Promise<void> {
    if (this.busy || Date.now() - this.lastScan < this.pace.scanMs - 100) return;
    this.busy = true;
    try {
      this.lastScan = Date.now();
      await this.push();
      if (Date.now() - this.lastRefresh >= this.pace.refreshMs) await this.pull();
    } catch (err) {
      log.warn('blob sync pass failed; retrying', { container: this.container.name, error: errorText(err) });
    } finally {
      this.busy = false;
    }
  }

  private async pull(): Promise<void> {
    this.lastRefresh = Date.now();
    const blobs = await this.container.list();
    const names = new Set<string>();
    for (const blob of blobs) {
      if (blob.name.endsWith('/') || blob.name.split('/').includes('..')) continue;
      names.add(blob.name);
      const known = this.known.get(blob.name);
      if (known?.etag === blob.etag || this.excluded.has(blob.name)) continue;
      if (known && known.etag === '' && known.size === blob.size) {
        known.etag = blob.etag; // adopted from the log shipper: the blob is the file
        continue;
      }
      const path = join(this.dir, ...blob.name.split('/'));
      const local = await stat(path).catch(() => undefined);
      // A local file changed since the last sync is being written here: the local side wins, as with blobfuse.
      if (local && known && (local.size !== known.size || local.mtimeMs !== known.mtimeMs)) continue;
      if (local && !known && local.isFile()) continue;
      await mkdir(dirname(path), { recursive: true });
      // Into a temporary name then renamed, so a task never reads half a file.
      const partial = `${path}.batchai-partial`;
      const etag = await this.container.downloadTo(blob.name, partial);
      await rename(partial, path);
      const s = await stat(path);
      this.known.set(blob.name, { size: s.size, mtimeMs: s.mtimeMs, etag: etag || blob.etag });
    }
    for (const [name, known] of [...this.known]) {
      if (names.has(name) || this.excluded.has(name)) continue;
      const path = join(this.dir, ...name.split('/'));
      const local = await stat(path).catch(() => undefined);
      if (local && local.size === known.size && local.mtimeMs === known.mtimeMs) await rm(path, { force: true });
      if (!local || (local.size === known.size && local.mtimeMs === known.mtimeMs)) this.known.delete(name);
    }
  }

  private async push(force = false): Promise<void> {
    const files = listFiles(this.dir);
    const present = new Set<string>();
    for (const { rel, size, mtimeMs } of files) {
      present.add(rel);
      const previous = this.seen.get(rel);
      this.seen.set(rel, { size, mtimeMs });
      if (this.excluded.has(rel)) continue;
      const known = this.known.get(rel);
      if (known && known.size === size && known.mtimeMs === mtimeMs) continue;
      if (!force && (!previous || previous.size !== size || previous.mtimeMs !== mtimeMs)) continue; // still changing
      const etag = await this.container.uploadFile(rel, { path: join(this.dir, ...rel.split('/')), size });
      this.known.set(rel, { size, mtimeMs, etag });
    }
    for (const rel of [...this.seen.keys()]) if (!present.has(rel)) this.seen.delete(rel);
    for (const rel of [...this.known.keys()]) {
      if (present.has(rel) || this.excluded.has(rel)) continue;
      await this.container.delete(rel);
      this.known.delete(rel);
    }
  }
}

/**
 * Every file below root with its size and mtime. Synchronous on purpose: a scan runs every second, and the
 * promise-per-stat of the async API is most of its garbage (an idle agent's heap stays smaller); a directory of a
 * few thousand files is walked in a few milliseconds.
 */
function listFiles(root: string): Array<{ rel: string; size: number; mtimeMs: number }> {
  const out: Array<{ rel: string; size: number; mtimeMs: number }> = [];
  const walk = (dir: string, prefix: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(dir, e.name), rel);
      else if (e.isFile() && !e.name.endsWith('.batchai-partial')) {
        const s = statSync(join(dir, e.name), { throwIfNoEntry: false });
        if (s) out.push({ rel, size: s.size, mtimeMs: s.mtimeMs });
      }
    }
  };
  walk(root, '');
  return out;
}
