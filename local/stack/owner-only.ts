import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

// The data dir holds keys (secrets.key, the host keys, the Event Grid system key in subscriptions.json) and
// everything the services store: only its owner may read it. New files follow from the umask every service
// inherits; what an older version left with wider modes is narrowed at start.

/** Files 0600 and directories 0700 from now on, in this process and every child it spawns. */
export function ownerOnlyFromNowOn(): void {
  process.umask(0o077);
}

/** Narrows existing modes under `dir` to the owner (symlinks are left alone). */
export async function narrowToOwner(dir: string): Promise<void> {
  const info = await lstat(dir);
  if (info.isSymbolicLink()) return;
  if ((info.mode & 0o077) !== 0) await chmod(dir, info.mode & 0o700);
  if (!info.isDirectory()) return;
  for (const entry of await readdir(dir)) await narrowToOwner(join(dir, entry));
}
