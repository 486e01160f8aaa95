import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// The stack's local key store for the app's secrets sealing keys: <dataDir>/secrets.key, one base64 key per line,
// the current one first, older ones after it (they still open what they sealed). Owner-only, never printed.
// `batchai-local rotate-secrets-key` puts a new key first; the app reads the keys when it starts.

export function secretsKeyPath(dataDir: string): string {
  return join(dataDir, 'secrets.key');
}

async function readKeys(dataDir: string): Promise<string[] | undefined> {
  try {
    const text = await readFile(secretsKeyPath(dataDir), 'utf8');
    const keys = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    return keys.length > 0 ? keys : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The keys for this data dir (current first), made on first use; what BATCHAI_SECRETS_KEY carries. */
export async function loadOrCreateSecretsKeys(dataDir: string): Promise<string> {
  const existing = await readKeys(dataDir);
  if (existing) return existing.join(',');
  await writeFile(secretsKeyPath(dataDir), `${randomBytes(32).toString('base64')}\n`, {
    mode: 0o600,
    flag: 'wx',
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return (await readKeys(dataDir))!.join(',');
}

/**
 * Puts a new current key in front of the others; returns how many keys are kept. Old keys stay until
 * `retainOlder` is exceeded (each one is needed until nothing sealed with it is left).
 */
export async function rotateSecretsKey(dataDir: string, retainOlder = 8): Promise<{ kept: number }> {
  const keys = (await readKeys(dataDir)) ?? [];
  const next = [randomBytes(32).toString('base64'), ...keys.slice(0, retainOlder)];
  const path = secretsKeyPath(dataDir);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${next.join('\n')}\n`, { mode: 0o600 });
  await rename(temp, path);
  return { kept: next.length };
}
