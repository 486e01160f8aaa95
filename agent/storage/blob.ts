import type { StorageAuth } from './credentials.js';
import { expectStatus, type FileBody, resourceUrl, storageRequest, xmlText, xmlUnescape } from './rest.js';

export interface BlobItem {
  name: string;
  etag: string;
  size: number;
}

const MAX_APPEND_BLOCK = 4 * 1024 * 1024;

/** The Blob operations the agent needs on one container: list, download, upload, delete, append. */
export class BlobContainer {
  constructor(
    private readonly auth: StorageAuth,
    private readonly endpoint: string,
    readonly name: string,
  ) {}

  private url(blob?: string): URL {
    return blob === undefined ? resourceUrl(this.endpoint, this.name) : resourceUrl(this.endpoint, this.name, blob);
  }

  async exists(): Promise<boolean> {
    const url = this.url();
    url.searchParams.set('restype', 'container');
    const res = await storageRequest(this.auth, 'GET', url);
    return expectStatus(res, [200, 404], `get properties of container ${this.name}`).status === 200;
  }

  async list(): Promise<BlobItem[]> {
    const items: BlobItem[] = [];
    let marker = '';
    do {
      const url = this.url();
      url.searchParams.set('restype', 'container');
      url.searchParams.set('comp', 'list');
      if (marker) url.searchParams.set('marker', marker);
      const res = expectStatus(await storageRequest(this.auth, 'GET', url), [200], `list container ${this.name}`);
      const xml = res.body.toString('utf8');
      // One pass with indexOf: listings run every few seconds and regular expressions per blob were most of an
      // idle agent's garbage.
      for (let at = xml.indexOf('<Blob>'); at >= 0; at = xml.indexOf('<Blob>', at + 6)) {
        const end = xml.indexOf('</Blob>', at);
        if (end < 0) break;
        items.push({
          name: xmlUnescape(between(xml, '<Name>', '</Name>', at, end)),
          etag: between(xml, '<Etag>', '</Etag>', at, end),
          size: Number(between(xml, '<Content-Length>', '</Content-Length>', at, end) || 0),
        });
        at = end;
      }
      marker = xmlText(xml, 'NextMarker') ?? '';
    } while (marker);
    return items;
  }

  /** Downloads a blob into a file (streamed); returns its etag. */
  async downloadTo(blob: string, path: string): Promise<string> {
    const res = await storageRequest(this.auth, 'GET', this.url(blob), { sinkPath: path, timeoutMs: 300_000 });
    return String(expectStatus(res, [200], `download ${blob}`).headers.etag ?? '');
  }

  /** Uploads a file as one block blob, streamed (Put Blob takes up to 5,000 MiB). */
  async uploadFile(blob: string, file: FileBody): Promise<string> {
    const res = await storageRequest(this.auth, 'PUT', this.url(blob), {
      body: file,
      headers: { 'x-ms-blob-type': 'BlockBlob', 'content-type': 'application/octet-stream' },
      timeoutMs: 300_000,
    });
    return String(expectStatus(res, [201], `upload ${blob}`).headers.etag ?? '');
  }

  async delete(blob: string): Promise<void> {
    expectStatus(await storageRequest(this.auth, 'DELETE', this.url(blob)), [202, 404], `delete ${blob}`);
  }

  /** Creates (or resets to empty) an append blob: the live log of a running task. */
  async createAppendBlob(blob: string): Promise<void> {
    const res = await storageRequest(this.auth, 'PUT', this.url(blob), {
      headers: { 'x-ms-blob-type': 'AppendBlob', 'content-type': 'text/plain; charset=utf-8' },
    });
    expectStatus(res, [201], `create append blob ${blob}`);
  }

  async append(blob: string, data: Buffer): Promise<void> {
    for (let at = 0; at < data.length; at += MAX_APPEND_BLOCK) {
      const url = this.url(blob);
      url.searchParams.set('comp', 'appendblock');
      const res = await storageRequest(this.auth, 'PUT', url, { body: data.subarray(at, at + MAX_APPEND_BLOCK) });
      expectStatus(res, [201], `append to ${blob}`);
    }
  }
}

/** The text between open and close within [from, to) of xml, or '' when absent. */
function between(xml: string, open: string, close: string, from: number, to: number): string {
  const start = xml.indexOf(open, from);
  if (start < 0 || start > to) return '';
  const end = xml.indexOf(close, start);
  return end < 0 || end > to ? '' : xml.slice(start + open.length, end);
}
