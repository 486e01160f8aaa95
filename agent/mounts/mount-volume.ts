import { lstat, mkdir, readlink, rm, rmdir, stat, symlink } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { MountSpec } from '../../shared/domain/agent-protocol.js';
import { errorText } from '../log.js';
import { BlobContainer } from '../storage/blob.js';
import type { StorageAuth } from '../storage/credentials.js';
import { StorageError } from '../storage/rest.js';
import { azureMountCommands, runMountCommand, runUnmanagedMount } from './azure-mounts.js';
import { BlobSync } from './blob-sync.js';
import { describeMount, type MountContext, MountError } from './mount-context.js';

/**
 * Mounts one volume under $AZ_BATCHAI_MOUNT_ROOT/<relativeMountPath>. On Azure: blobfuse2, cifs, nfs or the user's
 * mountCommand. Locally (no FUSE; Azurite has no Files service): a blob container is a directory synced with the
 * container, an Azure Files share and a file-server export are directories under the shared network root, and a
 * mountCommand runs as given. Throws MountError saying what failed and why.
 */
export async function mountVolume(spec: MountSpec, ctx: MountContext, root = ctx.paths.mountRoot): Promise<string> {
  const mountPath = join(root, normalize(spec.relativeMountPath));
  // The same volume already mounted there (a job's second task on this node, a setup sent again): nothing to do.
  const key = JSON.stringify({ ...spec, accountKey: undefined });
  if (ctx.mounted.get(mountPath) === key) return mountPath;
  ctx.mounted.delete(mountPath);
  await mount(spec, ctx, mountPath);
  ctx.mounted.set(mountPath, key);
  return mountPath;
}

/** Flushes and stops the local sync of a blob mount (a job's mounts when its last task on the node has ended). */
export async function unmountBlob(mountPath: string, ctx: MountContext): Promise<void> {
  const mount = ctx.blobMounts.get(mountPath);
  if (!mount) return;
  ctx.blobMounts.delete(mountPath);
  ctx.mounted.delete(mountPath);
  await mount.sync?.flush();
  mount.sync?.stop();
}

async function mount(spec: MountSpec, ctx: MountContext, mountPath: string): Promise<string> {
  const rel = normalize(spec.relativeMountPath);
  const details = describeMount(spec, mountPath);
  const fail = (why: string, extra: Array<{ name: string; value: string }> = []): never => {
    throw new MountError(`Mounting ${details[3]?.value} at ${mountPath} (${spec.kind}) failed: ${why}`, [
      ...details,
      ...extra,
    ]);
  };
  if (!spec.relativeMountPath || isAbsolute(spec.relativeMountPath) || rel === '.' || rel.startsWith('..')) {
    fail(`relativeMountPath "${spec.relativeMountPath}" must be a path inside $AZ_BATCHAI_MOUNT_ROOT`);
  }
  // A new setup of this boot mounting at the same path replaces the earlier mount's sync.
  ctx.blobMounts.get(mountPath)?.sync?.stop();
  ctx.blobMounts.delete(mountPath);
  if (spec.kind === 'unmanaged') {
    await mkdir(mountPath, { recursive: true });
    const r = await runUnmanagedMount(spec.mountCommand, ctx.env, ctx.paths.mountRoot);
    if (r.exitCode !== 0) {
      fail(
        `the mountCommand exited with ${r.exitCode ?? r.signal}${r.stderrTail ? `: ${lastLine(r.stderrTail)}` : ''}`,
        [
          { name: 'exitCode', value: String(r.exitCode ?? r.signal) },
          { name: 'stderr', value: r.stderrTail },
        ],
      );
    }
    return mountPath;
  }
  if (!ctx.paths.local) {
    await mkdir(mountPath, { recursive: true });
    for (const argv of await azureMountCommands(spec, mountPath, ctx)) {
      const r = await runMountCommand(argv);
      if (r.exitCode !== 0) {
        fail(`${argv[0]} exited with ${r.exitCode ?? r.signal}${r.stderrTail ? `: ${lastLine(r.stderrTail)}` : ''}`, [
          { name: 'exitCode', value: String(r.exitCode ?? r.signal) },
          { name: 'stderr', value: r.stderrTail },
        ]);
      }
    }
    if (spec.kind === 'azureBlob') ctx.blobMounts.set(mountPath, { container: blobContainerOf(spec, ctx) });
    return mountPath;
  }
  switch (spec.kind) {
    case 'azureBlob': {
      const container = blobContainerOf(spec, ctx);
      const sync = new BlobSync(container, mountPath);
      try {
        if (!(await container.exists())) {
          fail(`container "${spec.containerName}" does not exist in storage account "${spec.accountName}"`);
        }
        await sync.start();
      } catch (err) {
        if (err instanceof MountError) throw err;
        const code = err instanceof StorageError ? err.code : '';
        fail(
          code === 'AuthenticationFailed' || code === 'AuthorizationFailure'
            ? `storage account "${spec.accountName}" refused the credentials (${errorText(err)})`
            : `cannot read container "${spec.containerName}" at ${spec.blobEndpoint}: ${errorText(err)}`,
        );
      }
      ctx.blobMounts.set(mountPath, { container, sync });
      return mountPath;
    }
    case 'azureFiles': {
      const share = shareNameOf(spec.azureFileUrl);
      if (!share) fail(`azureFileUrl "${spec.azureFileUrl}" names no share`);
      const target = join(networkRoot(ctx, fail), 'azurefiles', spec.accountName, share as string);
      await mkdir(target, { recursive: true });
      await linkAt(mountPath, target, fail);
      return mountPath;
    }
    case 'fileServer': {
      const exportDir = join(networkRoot(ctx, fail), 'nfs', spec.exportPath.replace(/^\/+/, ''));
      if (!(await isDirectory(exportDir))) {
        fail(`file server ${spec.serverAddress} does not export ${spec.exportPath} (no such export: ${exportDir})`);
      }
      const source = spec.sourceDirectory ? join(exportDir, spec.sourceDirectory) : exportDir;
      if (!(await isDirectory(source))) {
        fail(
          `directory "${spec.sourceDirectory}" does not exist in export ${spec.exportPath} of ${spec.serverAddress}`,
        );
      }
      await linkAt(mountPath, source, fail);
      return mountPath;
    }
  }
}

function blobContainerOf(spec: Extract<MountSpec, { kind: 'azureBlob' }>, ctx: MountContext): BlobContainer {
  const auth: StorageAuth = spec.accountKey
    ? { kind: 'sharedKey', accountName: spec.accountName, accountKey: ctx.open(spec.accountKey) }
    : ctx.nodeAuth;
  return new BlobContainer(auth, spec.blobEndpoint, spec.containerName);
}

export function shareNameOf(azureFileUrl: string): string | undefined {
  try {
    return new URL(azureFileUrl).pathname.split('/').filter(Boolean).pop();
  } catch {
    return undefined;
  }
}

function networkRoot(ctx: MountContext, fail: (why: string) => never): string {
  return ctx.paths.networkRoot ?? fail('no network root is configured for this local VM');
}

/** The mount path becomes a symbolic link to the shared directory (replacing a stale link of a previous boot). */
async function linkAt(mountPath: string, target: string, fail: (why: string) => never): Promise<void> {
  const existing = await lstat(mountPath).catch(() => undefined);
  if (existing?.isSymbolicLink()) {
    if ((await readlink(mountPath)) === target) return;
    await rm(mountPath);
  } else if (existing?.isDirectory()) {
    await rmdir(mountPath).catch(() => fail(`${mountPath} exists and is not an empty directory`));
  } else if (existing) {
    fail(`${mountPath} exists and is not a directory`);
  }
  await mkdir(join(mountPath, '..'), { recursive: true });
  await symlink(target, mountPath, 'dir');
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

const lastLine = (text: string) => text.split('\n').filter(Boolean).pop() ?? '';
