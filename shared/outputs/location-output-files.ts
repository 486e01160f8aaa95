import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { BlobSASPermissions, BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { createApiError } from '../domain/api-errors.js';
import type { StorageLocation } from '../domain/job-outputs.js';
import type { OutputFile, OutputFileLister, OutputFileQuery } from '../stores/output-files.js';
import type { DownloadSigner } from './download-links.js';

// listOutputFiles from where the outputs really are: the storage behind the output directory's path.
//  - a blob container: a blob listing by hierarchy, each file with a read-only SAS for that one blob;
//  - an Azure Files share or a file server export: locally a directory under the compute network root (what the
//    agents' mounts link to), each file with a signed app link for that one file (download-links.ts).
// Both expire after linkexpiryinminutes. Paging: the blob service's token, or the last name of the page.

type OutputListing = OutputFileQuery;

export interface OutputFilesConfig {
  /** Locally: the compute emulator's shared network directory; undefined on Azure. */
  networkRoot?: string;
  /** The local stack (a share without a network root: the stack runs no compute). */
  local: boolean;
  blobEndpointFor(accountName: string): string;
  signer: DownloadSigner;
  now(): Date;
}

export async function listOutputLocation(
  config: OutputFilesConfig,
  q: OutputListing,
): Promise<{ items: OutputFile[]; continuation?: string }> {
  const loc = q.location;
  if (loc.kind === 'azureBlob') return listBlobs(config, q, loc);
  if ((loc.kind === 'azureFileShare' || loc.kind === 'fileServer') && config.networkRoot) {
    const base =
      loc.kind === 'azureFileShare'
        ? join(config.networkRoot, 'azurefiles', loc.accountName, loc.shareName, loc.directory)
        : join(config.networkRoot, 'nfs', (q.exportPath ?? '').replace(/^\/+/, ''), loc.directory);
    return listDirectory(config, q, base);
  }
  // On the node's own disk or behind a mount command we cannot follow: nothing the service can list (Batch AI
  // listed only mounted Azure storage). Locally without the compute emulator no job ever ran, so no files exist.
  if (loc.kind === 'nodeLocal' || loc.kind === 'unmanaged' || config.local) return { items: [] };
  throw createApiError('InvalidPropertyValue', {
    target: 'outputdirectoryid',
    reason: `listing ${loc.kind} storage is not supported by this deployment yet`,
  });
}

async function listBlobs(
  config: OutputFilesConfig,
  q: OutputListing,
  loc: Extract<StorageLocation, { kind: 'azureBlob' }>,
) {
  if (!q.accountKey) {
    throw createApiError('InvalidPropertyValue', {
      target: 'outputdirectoryid',
      reason: `no key for the storage account ${loc.accountName} is known`,
    });
  }
  const service = new BlobServiceClient(
    config.blobEndpointFor(loc.accountName),
    new StorageSharedKeyCredential(loc.accountName, q.accountKey),
  );
  const container = service.getContainerClient(loc.containerName);
  const sub = q.directory === '' || q.directory === '.' ? '' : `${q.directory.replace(/^\/+|\/+$/g, '')}/`;
  const prefix = `${loc.prefix}${sub}`;
  const pages = container.listBlobsByHierarchy('/', { prefix }).byPage({
    maxPageSize: q.maxResults,
    ...(q.continuation ? { continuationToken: q.continuation } : {}),
  });
  let next: Awaited<ReturnType<typeof pages.next>>;
  try {
    next = await pages.next();
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404) return { items: [] };
    if (q.continuation && status === 400) throw badToken();
    throw err;
  }
  if (next.done) return { items: [] };
  const page = next.value;
  const expiresOn = new Date(config.now().getTime() + q.linkExpiryMinutes * 60_000);
  const items: OutputFile[] = [];
  for (const dir of page.segment.blobPrefixes ?? []) {
    items.push({ name: dir.name.slice(prefix.length).replace(/\/$/, ''), fileType: 'directory' });
  }
  for (const blob of page.segment.blobItems) {
    const downloadUrl = await container
      .getBlobClient(blob.name)
      .generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn });
    items.push({
      name: blob.name.slice(prefix.length),
      fileType: 'file',
      downloadUrl,
      properties: {
        lastModified: blob.properties.lastModified.toISOString(),
        contentLength: blob.properties.contentLength ?? 0,
      },
    });
  }
  return { items, ...(page.continuationToken ? { continuation: page.continuationToken } : {}) };
}

async function listDirectory(config: OutputFilesConfig, q: OutputListing, base: string) {
  const root = resolve(config.networkRoot!);
  const dir = resolve(base, q.directory === '.' ? '' : q.directory);
  // checkOutputBrowseDirectory already refused escapes; this is the last line (a symlink, a bad prefix).
  if (dir !== root && !dir.startsWith(root + sep)) throw badDirectory();
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return { items: [] };
    }
    throw err;
  }
  let after: string | undefined;
  if (q.continuation) {
    try {
      after = Buffer.from(q.continuation, 'base64url').toString('utf8');
    } catch {
      throw badToken();
    }
  }
  const start = after === undefined ? 0 : names.findIndex((n) => n > after!);
  const slice = start < 0 ? [] : names.slice(start, start + q.maxResults);
  const expiresAt = new Date(config.now().getTime() + q.linkExpiryMinutes * 60_000);
  const items: OutputFile[] = [];
  for (const name of slice) {
    const full = join(dir, name);
    const info = await stat(full).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) {
      items.push({ name, fileType: 'directory' });
      continue;
    }
    items.push({
      name,
      fileType: 'file',
      downloadUrl: config.signer.link(q.baseUrl, relative(root, full).split(sep).join('/'), expiresAt),
      properties: { lastModified: info.mtime.toISOString(), contentLength: info.size },
    });
  }
  const more = start >= 0 && start + q.maxResults < names.length;
  return {
    items,
    ...(more ? { continuation: Buffer.from(slice[slice.length - 1]!, 'utf8').toString('base64url') } : {}),
  };
}

const badToken = () =>
  createApiError(
    'InvalidPropertyValue',
    { target: '$skipToken', reason: 'it is not a continuation token this API returned' },
    { target: '$skipToken' },
  );

const badDirectory = () =>
  createApiError(
    'InvalidPropertyValue',
    { target: 'directory', reason: 'it leaves the output directory' },
    { target: 'directory' },
  );

/** The app's OutputFileLister over real storage, and the check behind its download route. */
export class LocationOutputFileLister implements OutputFileLister {
  constructor(private readonly config: OutputFilesConfig) {}

  list(query: OutputFileQuery) {
    return listOutputLocation(this.config, query);
  }

  async download(query: URLSearchParams) {
    const checked = this.config.signer.check(query, this.config.now());
    if (!checked.ok) return checked;
    const root = this.config.networkRoot;
    if (!root) return { ok: false as const, status: 404, reason: 'no local files are served here' };
    const full = resolve(root, checked.path);
    if (!full.startsWith(resolve(root) + sep)) return { ok: false as const, status: 403, reason: 'not a granted file' };
    return { ok: true as const, path: full };
  }
}
