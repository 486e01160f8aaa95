import type { JobProperties } from './job-schema.js';
import type { MountVolumes } from './mount-volumes-schema.js';

// Where a job's outputs and logs live, as Batch AI laid them out: an output directory is
// `{pathPrefix}/{jobOutputDirectoryPathSegment}/{pathSuffix}` and stdout/stderr go to
// `{stdOutErrPathPrefix}/{jobOutputDirectoryPathSegment}/stdouterr/`. The segment ends with the job's uid, not the
// attempt, so a requeued attempt writes to (and resumes from) the same directory. A prefix names a mounted file
// system through $AZ_BATCHAI_JOB_MOUNT_ROOT (the job's own mountVolumes) or $AZ_BATCHAI_MOUNT_ROOT (the cluster's);
// these functions find that mount and the storage behind it, which is what listOutputFiles reads.

/** The output directory id that names the job's stdout/stderr. */
export const STDOUTERR_DIRECTORY_ID = 'stdouterr';

/** Joins path parts with single slashes, keeping a leading slash and dropping empty and `.` parts. */
export function joinNodePath(...parts: ReadonlyArray<string | undefined>): string {
  const absolute = parts.find((p) => p !== undefined && p !== '')?.startsWith('/') ?? false;
  const segments = parts
    .filter((p): p is string => p !== undefined)
    .flatMap((p) => p.split('/'))
    .filter((s) => s !== '' && s !== '.');
  return (absolute ? '/' : '') + segments.join('/');
}

/** `{pathPrefix}/{segment}/{pathSuffix}`: an output directory (prefix as written, or already expanded). */
export function outputDirectoryPath(pathPrefix: string, segment: string, pathSuffix?: string): string {
  return joinNodePath(pathPrefix, segment, pathSuffix);
}

/** `{stdOutErrPathPrefix}/{segment}/stdouterr`: where the job's stdout.txt and stderr.txt go. */
export function stdOutErrDirectoryPath(stdOutErrPathPrefix: string, segment: string): string {
  return joinNodePath(stdOutErrPathPrefix, segment, STDOUTERR_DIRECTORY_ID);
}

export type MountScope = 'job' | 'cluster';
export type MountKind = keyof MountVolumes;

export interface ResolvedMount {
  scope: MountScope;
  kind: MountKind;
  index: number;
  relativeMountPath: string;
  /** The rest of the path below the mount point ('' for the mount point itself). */
  subPath: string;
}

const ROOT_VARIABLES: ReadonlyArray<{ scope: MountScope; pattern: RegExp }> = [
  { scope: 'job', pattern: /^(?:\$AZ_BATCHAI_JOB_MOUNT_ROOT|\$\{AZ_BATCHAI_JOB_MOUNT_ROOT\})(?=\/|$)/ },
  { scope: 'cluster', pattern: /^(?:\$AZ_BATCHAI_MOUNT_ROOT|\$\{AZ_BATCHAI_MOUNT_ROOT\})(?=\/|$)/ },
];

/**
 * Which mount a path is on: `$AZ_BATCHAI_JOB_MOUNT_ROOT/<rel>/...` is on the job's mount at `<rel>`,
 * `$AZ_BATCHAI_MOUNT_ROOT/<rel>/...` on the cluster's; with `roots`, the same paths already expanded are recognised
 * too. The longest matching mount path wins (mounts may nest). Undefined when the path is on no mount: then it is
 * on the node's own disk and is lost with the node.
 */
export function resolveMount(
  path: string,
  mounts: { job?: MountVolumes | undefined; cluster?: MountVolumes | undefined },
  roots?: { mountRoot: string; jobMountRoot: string },
): ResolvedMount | undefined {
  let scope: MountScope | undefined;
  let rest = '';
  for (const root of ROOT_VARIABLES) {
    const match = root.pattern.exec(path);
    if (match) {
      scope = root.scope;
      rest = path.slice(match[0].length);
      break;
    }
  }
  if (scope === undefined && roots !== undefined) {
    // The job mount root lies below the cluster mount root on some layouts: test the longer root first.
    const candidates: Array<[MountScope, string]> = [
      ['job', roots.jobMountRoot],
      ['cluster', roots.mountRoot],
    ];
    candidates.sort((a, b) => b[1].length - a[1].length);
    for (const [s, root] of candidates) {
      const r = joinNodePath(root);
      if (path === r || path.startsWith(`${r}/`)) {
        scope = s;
        rest = path.slice(r.length);
        break;
      }
    }
  }
  if (scope === undefined) return undefined;
  const below = joinNodePath(rest.replace(/^\/+/, ''));
  const volumes = scope === 'job' ? mounts.job : mounts.cluster;
  let best: ResolvedMount | undefined;
  for (const kind of ['azureFileShares', 'azureBlobFileSystems', 'fileServers', 'unmanagedFileSystems'] as const) {
    (volumes?.[kind] ?? []).forEach((mount: { relativeMountPath: string }, index: number) => {
      const mountPath = joinNodePath(mount.relativeMountPath);
      if (below !== mountPath && !below.startsWith(`${mountPath}/`)) return;
      if (best !== undefined && best.relativeMountPath.length >= mountPath.length) return;
      best = {
        scope,
        kind,
        index,
        relativeMountPath: mountPath,
        subPath: joinNodePath(below.slice(mountPath.length).replace(/^\/+/, '')),
      };
    });
  }
  return best;
}

/** The storage behind a path: what listOutputFiles lists and signs download URLs for. */
export type StorageLocation =
  | { kind: 'azureFileShare'; accountName: string; azureFileUrl: string; shareName: string; directory: string }
  | { kind: 'azureBlob'; accountName: string; containerName: string; prefix: string }
  | { kind: 'fileServer'; fileServerId: string; directory: string }
  | { kind: 'unmanaged'; mountCommand: string; subPath: string }
  /** Not on any mount: on the node's disk, gone with the node. */
  | { kind: 'nodeLocal'; path: string };

export function storageLocation(
  path: string,
  mounts: { job?: MountVolumes | undefined; cluster?: MountVolumes | undefined },
  roots?: { mountRoot: string; jobMountRoot: string },
): StorageLocation {
  const mount = resolveMount(path, mounts, roots);
  if (mount === undefined) return { kind: 'nodeLocal', path };
  const volumes = (mount.scope === 'job' ? mounts.job : mounts.cluster)!;
  switch (mount.kind) {
    case 'azureFileShares': {
      const share = volumes.azureFileShares![mount.index]!;
      const urlPath = new URL(share.azureFileUrl).pathname.split('/').filter((s) => s !== '');
      return {
        kind: 'azureFileShare',
        accountName: share.accountName,
        azureFileUrl: share.azureFileUrl,
        shareName: urlPath[0] ?? '',
        directory: joinNodePath(...urlPath.slice(1), mount.subPath),
      };
    }
    case 'azureBlobFileSystems': {
      const blob = volumes.azureBlobFileSystems![mount.index]!;
      return {
        kind: 'azureBlob',
        accountName: blob.accountName,
        containerName: blob.containerName,
        prefix: mount.subPath === '' ? '' : `${mount.subPath}/`,
      };
    }
    case 'fileServers': {
      const server = volumes.fileServers![mount.index]!;
      return {
        kind: 'fileServer',
        fileServerId: server.fileServer.id,
        directory: joinNodePath(server.sourceDirectory, mount.subPath),
      };
    }
    case 'unmanagedFileSystems': {
      const fs = volumes.unmanagedFileSystems![mount.index]!;
      return { kind: 'unmanaged', mountCommand: fs.mountCommand, subPath: mount.subPath };
    }
  }
}

/**
 * Where one listable output directory of a job lives: `stdouterr` or one of its outputDirectories ids (matched
 * case-insensitively, as the service did). Undefined for an id the job does not have.
 */
export function jobOutputLocation(
  job: Pick<JobProperties, 'stdOutErrPathPrefix' | 'outputDirectories' | 'mountVolumes'>,
  segment: string,
  outputDirectoryId: string,
  clusterMounts?: MountVolumes,
): { id: string; path: string; location: StorageLocation } | undefined {
  const mounts = { job: job.mountVolumes, cluster: clusterMounts };
  if (outputDirectoryId.toLowerCase() === STDOUTERR_DIRECTORY_ID) {
    const path = stdOutErrDirectoryPath(job.stdOutErrPathPrefix, segment);
    return { id: STDOUTERR_DIRECTORY_ID, path, location: storageLocation(path, mounts) };
  }
  const directory = (job.outputDirectories ?? []).find((d) => d.id.toLowerCase() === outputDirectoryId.toLowerCase());
  if (directory === undefined) return undefined;
  const path = outputDirectoryPath(directory.pathPrefix, segment, directory.pathSuffix);
  return { id: directory.id, path, location: storageLocation(path, mounts) };
}

/**
 * Checks listOutputFiles' `directory` (a path below the output directory) and returns it normalized ('' for the
 * output directory itself). Anything that could name a place outside it is refused, in any spelling: `..`
 * segments, absolute paths, backslashes, drive letters, control characters, and the same hidden behind
 * percent-encoding (decoded repeatedly, since a proxy or SDK may decode once more on the way).
 */
export function checkOutputBrowseDirectory(
  directory: string | null | undefined,
): { ok: true; value: string } | { ok: false; reason: string } {
  if (directory === undefined || directory === null) return { ok: true, value: '' };
  let text = directory;
  for (let round = 0; round < 5; round++) {
    const problem = pathProblem(text);
    if (problem !== undefined) return { ok: false, reason: problem };
    if (!/%[0-9a-f]{2}/i.test(text)) break;
    let decoded: string;
    try {
      decoded = decodeURIComponent(text);
    } catch {
      return { ok: false, reason: 'it contains a malformed percent-encoding' };
    }
    if (decoded === text) break;
    text = decoded;
    if (round === 4) return { ok: false, reason: 'it is percent-encoded too many times' };
  }
  return { ok: true, value: joinNodePath(text) };
}

function pathProblem(text: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused here.
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'control characters are not allowed';
  if (text.includes('\\')) return "backslashes are not allowed; use '/'";
  if (text.startsWith('/') || text.startsWith('~')) return 'it must be relative to the output directory';
  if (/^[A-Za-z]:/.test(text)) return 'it must be relative to the output directory';
  if (text.split('/').includes('..')) return "'..' is not allowed";
  return undefined;
}
