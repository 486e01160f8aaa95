import { createApiError } from '../domain/api-errors.js';
import { checkOutputBrowseDirectory } from '../domain/job-outputs.js';
import { type JobRecord, jobOutputDirectoryPathSegment } from '../domain/job-view.js';
import type { JobResourceId } from '../domain/resource-id.js';
import type { OutputFile } from '../stores/output-files.js';
import type { ApiDeps } from './api-deps.js';
import { mustGet } from './records.js';

// Jobs_ListOutputFiles and *_ListRemoteLoginInformation. Both answer from what exists: output files appear once
// a job has run on nodes and uploaded them, login information once nodes are allocated.

/** The output directory ids a job can list: its declared outputDirectories plus the built-in `stdouterr`. */
export function outputDirectoryIds(job: JobRecord): string[] {
  return ['stdouterr', ...(job.properties.outputDirectories ?? []).map((d) => d.id)];
}

export async function listJobOutputFiles(
  deps: Pick<ApiDeps, 'store' | 'outputFiles'>,
  id: JobResourceId,
  query: {
    outputdirectoryid?: string | null;
    directory?: string | null;
    linkexpiryinminutes?: string | null;
    maxresults?: string | null;
    continuation?: string;
  },
): Promise<{ value: OutputFile[]; continuation?: string }> {
  const job = (await mustGet(deps.store, id)).record as unknown as JobRecord;
  const directoryId = query.outputdirectoryid;
  if (!directoryId) {
    throw createApiError('MissingRequiredProperty', { target: 'outputdirectoryid' }, { target: 'outputdirectoryid' });
  }
  const known = outputDirectoryIds(job);
  const match = known.find((d) => d.toLowerCase() === directoryId.toLowerCase());
  if (!match) {
    throw createApiError(
      'InvalidPropertyValue',
      {
        target: 'outputdirectoryid',
        reason: `the job has no output directory '${directoryId}' (it has ${known.join(', ')})`,
      },
      { target: 'outputdirectoryid' },
    );
  }
  // A directory that could name a place outside the output directory, in any spelling, is a 400.
  const checked = checkOutputBrowseDirectory(query.directory);
  if (!checked.ok) {
    throw createApiError(
      'InvalidPropertyValue',
      { target: 'directory', reason: checked.reason },
      { target: 'directory' },
    );
  }
  const directory = checked.value === '' ? '.' : checked.value;
  const linkExpiryMinutes = boundedInt(query.linkexpiryinminutes, 'linkexpiryinminutes', 60, 5, 600);
  const maxResults = boundedInt(query.maxresults, 'maxresults', 1000, 1, 1000);
  const page = await deps.outputFiles.list({
    root: `${jobOutputDirectoryPathSegment(job.id, job.uid)}/${match}`,
    directory,
    linkExpiryMinutes,
    maxResults,
    ...(query.continuation ? { continuation: query.continuation } : {}),
  });
  return { value: page.items, ...(page.continuation ? { continuation: page.continuation } : {}) };
}

function boundedInt(raw: string | null | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw createApiError(
      'InvalidPropertyValue',
      { target: name, reason: `must be an integer from ${min} to ${max}` },
      { target: name },
    );
  }
  return value;
}

export async function listJobRemoteLogins(
  deps: Pick<ApiDeps, 'store'>,
  id: JobResourceId,
): Promise<{ value: unknown[] }> {
  await mustGet(deps.store, id);
  // Login information lists the nodes the job runs on; a job that holds no nodes has none.
  return { value: [] };
}
