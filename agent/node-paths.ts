import { isAbsolute, join, relative, resolve } from 'node:path';

/**
 * Where node paths (/mnt/batch/…, /etc/batchai/…) really are. On Azure the disk root is `/`. Locally every VM's
 * filesystem lives under its disk directory (LOCAL_VM_ENV.diskRoot), and the network (Azure Files shares,
 * file-server exports) is a directory shared by every VM (LOCAL_VM_ENV.networkRoot).
 */
export interface NodePaths {
  local: boolean;
  diskRoot: string;
  networkRoot: string | undefined;
  /** $AZ_BATCHAI_MOUNT_ROOT as a real path. */
  mountRoot: string;
  /** $AZ_BATCHAI_JOB_TEMP_DIR as a real path: the root of every job's temporary directory. */
  jobTempRoot: string;
  /** The agent's own state (task process groups of this disk). */
  stateDir: string;
  /** A node path as a real path: absolute node paths are rebased under the disk root locally. */
  real(nodePath: string): string;
}

export function nodePaths(options: { diskRoot?: string; networkRoot?: string; mountRoot: string }): NodePaths {
  const diskRoot = options.diskRoot ? resolve(options.diskRoot) : '/';
  const local = diskRoot !== '/';
  const real = (nodePath: string): string => {
    if (!local || !isAbsolute(nodePath)) return nodePath;
    const inside = relative(diskRoot, nodePath);
    // A path already on this disk (e.g. expanded from $AZ_BATCHAI_MOUNT_ROOT) stays; another absolute path is a node path.
    if (inside && !inside.startsWith('..') && !isAbsolute(inside)) return nodePath;
    if (nodePath === diskRoot) return nodePath;
    return join(diskRoot, nodePath);
  };
  return {
    local,
    diskRoot,
    networkRoot: options.networkRoot ? resolve(options.networkRoot) : undefined,
    mountRoot: real(options.mountRoot),
    jobTempRoot: real('/mnt/batch/tasks/shared/LS_root/jobs'),
    stateDir: real('/var/lib/batchai-agent'),
    real,
  };
}
