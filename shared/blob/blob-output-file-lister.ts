import {
  BlobSASPermissions,
  type BlobServiceClient,
  type ContainerClient,
  generateBlobSASQueryParameters,
  SASProtocol,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { createApiError } from '../domain/api-errors.js';
import type { OutputFile, OutputFileLister, OutputFileQuery } from '../stores/output-files.js';

/** SAS links start this long before now, so a client whose clock is a little behind can use them at once. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Lists a job's output files from the blob container where node agents upload them. Each file gets its own link:
 * a SAS for that one blob (sr=b), read-only (sp=r), valid from a few minutes ago until the requested expiry (at most
 * 10 hours, the API's bound on linkexpiryinminutes), HTTPS-only on Azure. With a shared key (the local stack, or
 * an account key) the SAS is signed by it; with a managed identity it is a user delegation SAS, signed by a key
 * the identity obtains from Entra ID, so no account key is needed anywhere.
 */
export class BlobOutputFileLister implements OutputFileLister {
  private delegation: { key: UserDelegationKey; expiresOn: Date } | undefined;

  constructor(
    private readonly container: ContainerClient,
    /** Set when the app authenticates with an identity: user delegation keys come from it. */
    private readonly identityService?: BlobServiceClient,
  ) {}

  private async linkFor(blobName: string, expiresOn: Date): Promise<string> {
    const blob = this.container.getBlobClient(blobName);
    const startsOn = new Date(Date.now() - CLOCK_SKEW_MS);
    const permissions = BlobSASPermissions.parse('r');
    if (!this.identityService) return blob.generateSasUrl({ permissions, startsOn, expiresOn });
    // One delegation key serves every link it outlives (a key is valid for up to 7 days; we take 1 day).
    if (!this.delegation || this.delegation.expiresOn < expiresOn) {
      const keyExpires = new Date(Math.max(expiresOn.getTime(), Date.now() + 24 * 3600_000));
      const key = await this.identityService.getUserDelegationKey(startsOn, keyExpires);
      this.delegation = { key, expiresOn: keyExpires };
    }
    const sas = generateBlobSASQueryParameters(
      {
        containerName: this.container.containerName,
        blobName,
        permissions,
        startsOn,
        expiresOn,
        protocol: SASProtocol.Https,
      },
      this.delegation.key,
      this.identityService.accountName,
    );
    return `${blob.url}?${sas.toString()}`;
  }

  async list(query: OutputFileQuery): Promise<{ items: OutputFile[]; continuation?: string }> {
    const sub =
      query.directory === '.' || query.directory === '' ? '' : `${query.directory.replace(/^\/+|\/+$/g, '')}/`;
    const prefix = `${query.root}/${sub}`;
    const pages = this.container.listBlobsByHierarchy('/', { prefix }).byPage({
      maxPageSize: query.maxResults,
      ...(query.continuation ? { continuationToken: query.continuation } : {}),
    });
    let next: Awaited<ReturnType<typeof pages.next>>;
    try {
      next = await pages.next();
    } catch (err) {
      if (query.continuation && (err as { statusCode?: number }).statusCode === 400) {
        throw createApiError(
          'InvalidPropertyValue',
          { target: '$skipToken', reason: 'it is not a continuation token this API returned' },
          { target: '$skipToken' },
        );
      }
      throw err;
    }
    if (next.done) return { items: [] };
    const page = next.value;
    const expiresOn = new Date(Date.now() + query.linkExpiryMinutes * 60_000);
    const items: OutputFile[] = [];
    for (const dir of page.segment.blobPrefixes ?? []) {
      items.push({ name: dir.name.slice(prefix.length).replace(/\/$/, ''), fileType: 'directory' });
    }
    for (const blob of page.segment.blobItems) {
      const downloadUrl = await this.linkFor(blob.name, expiresOn);
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
}
