import { BlobSASPermissions, type ContainerClient } from '@azure/storage-blob';
import { createApiError } from '../domain/api-errors.js';
import type { OutputFile, OutputFileLister, OutputFileQuery } from '../stores/output-files.js';

/**
 * Lists a job's output files from the blob container where node agents upload them, with read-only SAS links
 * that expire after the requested minutes.
 */
export class BlobOutputFileLister implements OutputFileLister {
  constructor(private readonly container: ContainerClient) {}

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
      const downloadUrl = await this.container
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
}
