// Test harness for the Durable backend: the real local Functions host (in-process, port 0) with the
// Durable extension, the fixture app, and the official durable-functions client talking to it over HTTP.
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { createDurableExtension, type DurableExtension } from '../../../local/durable/index.js';
import type { HostLogger } from '../../../local/functions-host/contracts.js';
import { type RunningHost, startHost } from '../../../local/functions-host/host.js';

import { waitFor } from '../../support/wait-for.js';

export { waitFor };

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const durableApp = join(repoRoot, 'test/fixtures/durable-app');

const require = createRequire(import.meta.url);
const { DurableClient: DurableClientCtor } = require('durable-functions/lib/src/durableClient/DurableClient.js') as {
  DurableClient: new (data: unknown) => DurableClient;
};

export const silentLog: HostLogger = { info() {}, warn() {}, error() {} };

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `durable-${prefix}-`));
}

export interface DurableHost {
  host: RunningHost;
  ext: DurableExtension;
  client: DurableClient;
  baseUrl: string;
  dataDir: string;
  /** Query string with the durabletask system key, for the public management routes. */
  keyQuery: string;
  stop(): Promise<void>;
}

export function clientFor(ext: DurableExtension): DurableClient {
  const data = ext.inputBindingData({ type: 'durableClient', direction: 'in' }, 'test');
  return new DurableClientCtor(JSON.parse(data.json ?? '{}'));
}

export async function startDurableHost(dataDir?: string): Promise<DurableHost> {
  const dir = dataDir ?? (await tempDir('host'));
  const ext = createDurableExtension();
  const host = await startHost({ appDir: durableApp, port: 0, dataDir: dir, extensions: [ext], log: silentLog });
  const key = host.keys.systemKey('durabletask_extension');
  return {
    host,
    ext,
    client: clientFor(ext),
    baseUrl: host.baseUrl,
    dataDir: dir,
    keyQuery: key ? `code=${encodeURIComponent(key)}` : '',
    stop: () => host.stop(),
  };
}

const FINAL = new Set(['Completed', 'Failed', 'Terminated']);

export async function waitForFinal(
  client: DurableClient,
  instanceId: string,
  timeoutMs = 15_000,
): Promise<DurableOrchestrationStatus> {
  return waitFor(
    `${instanceId} to finish`,
    async () => {
      const s = await client.getStatus(instanceId);
      return FINAL.has(String(s.runtimeStatus)) ? s : undefined;
    },
    timeoutMs,
  );
}

export async function waitForStatus(
  client: DurableClient,
  instanceId: string,
  status: string,
  timeoutMs = 15_000,
): Promise<DurableOrchestrationStatus> {
  return waitFor(
    `${instanceId} to be ${status}`,
    async () => {
      const s = await client.getStatus(instanceId);
      return String(s.runtimeStatus) === status ? s : undefined;
    },
    timeoutMs,
  );
}
