// How the local stack runs this emulator: the supervisor's ServiceSpec, the subscriptions file and the
// topic key, all under <stack data dir>/eventgrid/. Only the supervisor imports this.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpAnswersWith } from '../stack/probes.js';
import type { ServiceSpec } from '../stack/supervisor.js';
import { type ConfigInput, parseConfig } from './config.js';

export const eventGridDataDir = (dataDir: string): string => join(dataDir, 'eventgrid');
export const eventGridConfigPath = (dataDir: string): string => join(eventGridDataDir(dataDir), 'subscriptions.json');

/** Validates and writes the subscriptions file, so a bad config fails in the supervisor with the field named. */
export async function writeEventGridConfig(dataDir: string, config: ConfigInput): Promise<string> {
  parseConfig(config);
  const path = eventGridConfigPath(dataDir);
  await mkdir(eventGridDataDir(dataDir), { recursive: true });
  await writeFile(`${path}.tmp`, `${JSON.stringify(config, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
  return path;
}

/**
 * The key publishers present (aeg-sas-key), made once per data dir and kept, like an Azure topic's access
 * key: base64 of 32 random bytes. Local-only; it goes into stack.json for the compute emulator.
 */
export async function loadOrCreateTopicKey(dataDir: string): Promise<string> {
  const path = join(eventGridDataDir(dataDir), 'topic-key');
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const key = randomBytes(32).toString('base64');
    await mkdir(eventGridDataDir(dataDir), { recursive: true });
    await writeFile(path, key, { mode: 0o600, flag: 'wx' }).catch(async (err: unknown) => {
      // Another starter won the race: use its key.
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    });
    return (await readFile(path, 'utf8')).trim();
  }
}

export const eventGridTopicEndpoint = (port: number): string => `http://127.0.0.1:${port}/api/events`;

export function eventGridService(options: {
  dataDir: string;
  port: number;
  /** From writeEventGridConfig. */
  configPath: string;
  storageConnectionString: string;
  topicKey: string;
  /** Azurite at least: the first listing of each watched container is the readiness condition. */
  after?: string[];
  /** Azurite's --location (default: where azuriteService puts it), for early listings on writes. */
  azuriteLocation?: string;
}): ServiceSpec {
  return {
    name: 'eventgrid',
    script: fileURLToPath(new URL('./main.js', import.meta.url)),
    args: [
      '--port',
      String(options.port),
      '--data-dir',
      eventGridDataDir(options.dataDir),
      '--config',
      options.configPath,
      '--azurite-location',
      options.azuriteLocation ?? join(options.dataDir, 'azurite'),
    ],
    env: { AzureWebJobsStorage: options.storageConnectionString, EVENTGRID_TOPIC_KEY: options.topicKey },
    ports: [{ port: options.port, option: '--eventgrid-port or --base-port' }],
    ready: () => httpAnswersWith(`http://127.0.0.1:${options.port}/health`, 200),
    after: options.after ?? ['azurite'],
  };
}
