import type { StorageLocation } from '../domain/job-outputs.js';

/** A file or directory below a job's output directory, as Jobs_ListOutputFiles reports it. */
export interface OutputFile {
  name: string;
  fileType: 'file' | 'directory';
  downloadUrl?: string;
  properties?: { lastModified: string; contentLength: number };
}

export interface OutputFileQuery {
  /** The storage behind the output directory (a blob container, a share, a file server export). */
  location: StorageLocation;
  /** The storage account's key, for blob storage (opened for this call only). */
  accountKey?: string;
  /** For a file server: its export path. */
  exportPath?: string;
  /** A sub-directory below the output directory ('.' for the directory itself). */
  directory: string;
  linkExpiryMinutes: number;
  maxResults: number;
  continuation?: string;
  /** The app's public base URL (for download links the app itself serves). */
  baseUrl: string;
}

export interface OutputFileLister {
  list(query: OutputFileQuery): Promise<{ items: OutputFile[]; continuation?: string }>;
  /** The local file a signed download link grants, or why it grants nothing. */
  download?(
    query: URLSearchParams,
  ): Promise<{ ok: true; path: string } | { ok: false; status: number; reason: string }>;
}
