import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeysFile } from '../functions-host/keys.js';
import { httpAnswersWith } from './probes.js';
import type { ServiceSpec } from './supervisor.js';

export const functionsDataDir = (dataDir: string): string => join(dataDir, 'functions');

export function functionsHostService(options: {
  dataDir: string;
  port: number;
  appDir: string;
  appSettings: Record<string, string>;
  after: string[];
}): ServiceSpec {
  return {
    name: 'functions',
    script: fileURLToPath(new URL('../functions-host/main.js', import.meta.url)),
    args: [
      '--app',
      options.appDir,
      '--port',
      String(options.port),
      '--data-dir',
      functionsDataDir(options.dataDir),
      // Lets the host wake idle queue listeners the moment Azurite stores a message.
      '--azurite-location',
      join(options.dataDir, 'azurite'),
    ],
    env: options.appSettings,
    ports: [{ port: options.port, option: '--functions-port or --base-port' }],
    // The status endpoint needs the master key, which the host writes to keys.json on its first start.
    ready: async () => {
      const keys = await readHostKeys(options.dataDir).catch(() => undefined);
      return keys
        ? httpAnswersWith(`http://127.0.0.1:${options.port}/admin/host/status`, 200, {
            'x-functions-key': keys.masterKey,
          })
        : false;
    },
    readyTimeoutMs: 60_000,
    after: options.after,
  };
}

export const hostKeysFile = (dataDir: string): string => join(functionsDataDir(dataDir), 'keys.json');

/** The keys the host made for this data dir (see local/functions-host/keys.ts for the format). */
export async function readHostKeys(dataDir: string): Promise<KeysFile> {
  return JSON.parse(await readFile(hostKeysFile(dataDir), 'utf8')) as KeysFile;
}
