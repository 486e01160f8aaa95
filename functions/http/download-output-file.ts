import { readFile } from 'node:fs/promises';
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { DOWNLOAD_ROUTE } from '../../shared/outputs/download-links.js';
import { appServices } from '../dependencies.js';

// The download links listOutputFiles gives for files on a share or file server export (locally a directory under
// the compute network root). Anonymous like a SAS URL: the signed link itself is the grant, for one file, until it
// expires.
export async function downloadOutputFile(request: HttpRequest): Promise<HttpResponseInit> {
  const { base } = await appServices();
  const granted = await base.outputFiles.download?.(new URL(request.url).searchParams);
  if (!granted) return { status: 404 };
  if (!granted.ok)
    return { status: granted.status, jsonBody: { error: { code: 'AuthorizationFailure', message: granted.reason } } };
  try {
    const body = await readFile(granted.path);
    return { status: 200, body, headers: { 'content-type': 'application/octet-stream' } };
  } catch {
    return { status: 404, jsonBody: { error: { code: 'FileNotFound', message: 'the file no longer exists' } } };
  }
}

export function registerOutputDownloads(): void {
  app.http('DownloadOutputFile', {
    route: DOWNLOAD_ROUTE,
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: downloadOutputFile,
  });
}
