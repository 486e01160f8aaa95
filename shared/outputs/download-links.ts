import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

// Download links for output files that live on a share or a file server export (locally: a directory under the
// compute network root). A link names one file (its path below the network root) and an expiry time, signed with
// a key derived from the app's secrets key; the download route serves exactly that file until then, nothing else.

export const DOWNLOAD_ROUTE = 'outputfiles/download';

export class DownloadSigner {
  private readonly key: Buffer;

  constructor(secretsKey: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', secretsKey, Buffer.alloc(0), 'batchai-output-download-v1', 32));
  }

  private mac(path: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${expires}\n${path}`).digest('base64url');
  }

  /** `{base}/outputfiles/download?p=<path>&se=<expiry ms>&sig=<mac>` */
  link(baseUrl: string, path: string, expiresAt: Date): string {
    const expires = expiresAt.getTime();
    const url = new URL(`${baseUrl.replace(/\/+$/, '')}/${DOWNLOAD_ROUTE}`);
    url.searchParams.set('p', path);
    url.searchParams.set('se', String(expires));
    url.searchParams.set('sig', this.mac(path, expires));
    return url.toString();
  }

  /** The file path a link grants, or why it grants nothing. */
  check(
    query: URLSearchParams,
    now: Date,
  ): { ok: true; path: string } | { ok: false; status: 403 | 400; reason: string } {
    const path = query.get('p');
    const expires = Number(query.get('se'));
    const sig = query.get('sig') ?? '';
    if (!path || !Number.isFinite(expires)) return { ok: false, status: 400, reason: 'not a download link' };
    const want = Buffer.from(this.mac(path, expires));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      return { ok: false, status: 403, reason: 'the link is not valid' };
    }
    if (now.getTime() > expires) return { ok: false, status: 403, reason: 'the link has expired' };
    return { ok: true, path };
  }
}
