import { createHmac } from 'node:crypto';
import { request } from 'node:http';

/** How a storage request is authorized: an account key (SharedKey; Azurite locally) or a bearer token (Azure). */
export type StorageAuth =
  | { kind: 'sharedKey'; accountName: string; accountKey: string }
  | { kind: 'token'; token(): Promise<string> };

export interface ConnectionString {
  accountName: string;
  accountKey: string;
  blobEndpoint: string;
  queueEndpoint: string;
}

export function parseConnectionString(text: string): ConnectionString {
  const parts = new Map<string, string>();
  for (const part of text.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) parts.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
  }
  const accountName = parts.get('accountname');
  const accountKey = parts.get('accountkey');
  if (!accountName || !accountKey) throw new Error('the storage connection string has no AccountName/AccountKey');
  const protocol = parts.get('defaultendpointsprotocol') ?? 'https';
  const suffix = parts.get('endpointsuffix') ?? 'core.windows.net';
  return {
    accountName,
    accountKey,
    blobEndpoint: parts.get('blobendpoint') ?? `${protocol}://${accountName}.blob.${suffix}`,
    queueEndpoint: parts.get('queueendpoint') ?? `${protocol}://${accountName}.queue.${suffix}`,
  };
}

/**
 * The SharedKey signature of Blob and Queue (service version 2015-02-21 and later): what @azure/storage-* computes,
 * written out because the agent does not load the SDKs (see docs/decisions/0020-agent-without-sdks.md).
 */
export function sharedKeyAuthorization(
  accountName: string,
  accountKey: string,
  method: string,
  url: URL,
  headers: Record<string, string>,
): string {
  const h = (name: string) => headers[name] ?? '';
  const contentLength = h('content-length') === '0' ? '' : h('content-length');
  const canonicalHeaders = Object.keys(headers)
    .filter((k) => k.startsWith('x-ms-'))
    .sort()
    .map((k) => `${k}:${headers[k]?.trim()}\n`)
    .join('');
  const query = [...url.searchParams.keys()]
    .map((k) => k.toLowerCase())
    .filter((k, i, all) => all.indexOf(k) === i)
    .sort()
    .map((k) => `\n${k}:${url.searchParams.getAll(k).join(',')}`)
    .join('');
  const stringToSign = [
    method,
    h('content-encoding'),
    h('content-language'),
    contentLength,
    h('content-md5'),
    h('content-type'),
    '',
    h('if-modified-since'),
    h('if-match'),
    h('if-none-match'),
    h('if-unmodified-since'),
    h('range'),
    `${canonicalHeaders}/${accountName}${url.pathname}${query}`,
  ].join('\n');
  const signature = createHmac('sha256', Buffer.from(accountKey, 'base64'))
    .update(stringToSign, 'utf8')
    .digest('base64');
  return `SharedKey ${accountName}:${signature}`;
}

const IMDS = 'http://169.254.169.254';

/**
 * A managed-identity token for Azure Storage from the instance metadata service, cached until 5 minutes before it
 * expires: what ManagedIdentityCredential does on a VM, without loading @azure/identity.
 */
export function managedIdentityToken(clientId: string | undefined): () => Promise<string> {
  let cached: { token: string; expiresAt: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.expiresAt - 300_000) return cached.token;
    const url = new URL(`${IMDS}/metadata/identity/oauth2/token`);
    url.searchParams.set('api-version', '2018-02-01');
    url.searchParams.set('resource', 'https://storage.azure.com/');
    if (clientId) url.searchParams.set('client_id', clientId);
    const body = JSON.parse(await imdsGet(url)) as { access_token: string; expires_on: string };
    cached = { token: body.access_token, expiresAt: Number(body.expires_on) * 1000 };
    return cached.token;
  };
}

/** GET on the instance metadata service (plain HTTP, link-local, `Metadata: true`). */
export function imdsGet(url: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Metadata: 'true' }, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(text);
        else reject(new Error(`IMDS ${url.pathname} answered ${res.statusCode}: ${text.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`IMDS ${url.pathname} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
