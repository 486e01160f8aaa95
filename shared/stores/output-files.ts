/** A file or directory below a job's output directory, as Jobs_ListOutputFiles reports it. */
export interface OutputFile {
  name: string;
  fileType: 'file' | 'directory';
  downloadUrl?: string;
  properties?: { lastModified: string; contentLength: number };
}

export interface OutputFileQuery {
  /** `{jobOutputDirectoryPathSegment}/{outputDirectoryId}`: where the job's files for that directory live. */
  root: string;
  /** A sub-directory below the root ("." for the root itself). */
  directory: string;
  linkExpiryMinutes: number;
  maxResults: number;
  continuation?: string;
}

export interface OutputFileLister {
  list(query: OutputFileQuery): Promise<{ items: OutputFile[]; continuation?: string }>;
}
