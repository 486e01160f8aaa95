import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentBootConfig } from '../shared/domain/agent-bootstrap.js';
import { log } from './log.js';
import { runMountCommand } from './mounts/azure-mounts.js';
import type { NodePaths } from './node-paths.js';

/**
 * A file server's node: its export ready to be mounted. Locally the export is a directory under the shared network
 * root (<networkRoot>/nfs/<exportPath>), which cluster nodes link at their mount paths. On Azure: the data disks
 * striped as RAID 0 when there are several (mdadm), an ext4 filesystem, mounted at the export path and exported
 * over NFS to the virtual network. Returns an error message, or undefined when the export is ready.
 */
export async function prepareFileServer(
  fileServer: NonNullable<AgentBootConfig['fileServer']>,
  paths: NodePaths,
): Promise<string | undefined> {
  const exportPath = fileServer.exportPath.startsWith('/') ? fileServer.exportPath : `/${fileServer.exportPath}`;
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(exportPath) || exportPath.split('/').includes('..')) {
    return `export path "${fileServer.exportPath}" must be an absolute path of letters, digits, '.', '_' and '-'`;
  }
  if (paths.local) {
    if (!paths.networkRoot) return 'no network root is configured for this local VM';
    const dir = join(paths.networkRoot, 'nfs', exportPath.slice(1));
    await mkdir(dir, { recursive: true });
    log.info('file server export ready', { exportPath, dir });
    return undefined;
  }
  for (const argv of fileServerCommands(fileServer.diskCount, exportPath)) {
    const r = await runMountCommand(argv);
    if (r.exitCode !== 0) return `${argv.join(' ')} exited with ${r.exitCode ?? r.signal}: ${r.stderrTail}`;
  }
  return undefined;
}

/** The commands that turn an Azure file-server VM's data disks into an NFS export (idempotent on reboot). */
export function fileServerCommands(diskCount: number, exportPath: string): string[][] {
  // Data disks are attached at LUN 0..n-1: /dev/disk/azure/scsi1/lun<i> are stable names for them.
  const disks = Array.from({ length: diskCount }, (_, i) => `/dev/disk/azure/scsi1/lun${i}`);
  const device = diskCount > 1 ? '/dev/md0' : (disks[0] as string);
  const script = [
    'set -euo pipefail',
    diskCount > 1
      ? `[ -e /dev/md0 ] || mdadm --create /dev/md0 --run --level=0 --raid-devices=${diskCount} ${disks.join(' ')}`
      : ':',
    `blkid ${device} >/dev/null || mkfs.ext4 -F ${device}`,
    `mkdir -p '${exportPath}'`,
    `mountpoint -q '${exportPath}' || mount ${device} '${exportPath}'`,
    `grep -q '^${exportPath} ' /etc/exports || echo '${exportPath} *(rw,sync,no_root_squash,no_subtree_check)' >> /etc/exports`,
    'exportfs -ra',
    'systemctl enable --now nfs-kernel-server',
  ].join('\n');
  return [['bash', '-c', script]];
}
