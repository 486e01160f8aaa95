import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { errorText, log } from './log.js';
import type { BlobMount } from './mounts/mount-context.js';

const SHIP_MS = 2000;

/**
 * Live logs that survive the node: while a task runs, its stdout/stderr files are appended every ~2 s to an append
 * blob at the same path in the container, straight through the Blob API (blobfuse uploads only on close, and the
 * local sync only uploads quiet files). Only for files on a blob mount; other mounts are already off the node
 * (Azure Files, NFS) or local.
 */
export class LogShipper {
  private readonly files: Array<{ path: string; blob: string; offset: number; created: boolean }> = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  private constructor(private readonly mount: BlobMount) {}

  /** A shipper for these files if they live on a blob mount, else undefined. */
  static forFiles(paths: string[], blobMounts: Map<string, BlobMount>): LogShipper | undefined {
    for (const [mountPath, mount] of blobMounts) {
      const rels = paths.map((p) => relative(mountPath, p));
      if (rels.some((r) => r.startsWith('..') || r === '')) continue;
      const shipper = new LogShipper(mount);
      for (const [i, path] of paths.entries()) {
        shipper.files.push({ path, blob: (rels[i] as string).split(sep).join('/'), offset: 0, created: false });
        mount.sync?.exclude(path);
      }
      return shipper;
    }
    return undefined;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.ship());
    }, SHIP_MS);
    this.timer.unref();
  }

  /** Ships what is left and hands the files back to the sync; called once the task has exited. */
  async finish(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.running = this.running.then(() => this.ship());
    await this.running;
    for (const f of this.files) await this.mount.sync?.adopt(f.path, '');
  }

  private async ship(): Promise<void> {
    for (const f of this.files) {
      try {
        if (!f.created) {
          await this.mount.container.createAppendBlob(f.blob);
          f.created = true;
        }
        // Most ticks find nothing new: a synchronous stat says so without opening the file.
        const size = statSync(f.path, { throwIfNoEntry: false })?.size ?? 0;
        if (size <= f.offset) continue;
        const handle = await open(f.path, 'r').catch(() => undefined);
        if (!handle) continue;
        try {
          const { size } = await handle.stat();
          if (size <= f.offset) continue;
          const buf = Buffer.alloc(size - f.offset);
          const { bytesRead } = await handle.read(buf, 0, buf.length, f.offset);
          await this.mount.container.append(f.blob, buf.subarray(0, bytesRead));
          f.offset += bytesRead;
        } finally {
          await handle.close();
        }
      } catch (err) {
        log.warn('shipping a log failed; retrying', { blob: f.blob, error: errorText(err) });
      }
    }
  }
}
