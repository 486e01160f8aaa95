import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from '../../shared/config/well-known-emulator-credentials.js';
import { httpAnswersWith } from '../stack/probes.js';
import type { ServiceSpec } from '../stack/supervisor.js';

const DEV_ACCOUNT = { name: AZURITE_ACCOUNT_NAME, key: AZURITE_ACCOUNT_KEY };

export interface StorageEndpoints {
  accountName: string;
  accountKey: string;
  connectionString: string;
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
}

export function storageEndpoints(ports: { blob: number; queue: number; table: number }): StorageEndpoints {
  const blobEndpoint = `http://127.0.0.1:${ports.blob}/${DEV_ACCOUNT.name}`;
  const queueEndpoint = `http://127.0.0.1:${ports.queue}/${DEV_ACCOUNT.name}`;
  const tableEndpoint = `http://127.0.0.1:${ports.table}/${DEV_ACCOUNT.name}`;
  return {
    accountName: DEV_ACCOUNT.name,
    accountKey: DEV_ACCOUNT.key,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT.name};AccountKey=${DEV_ACCOUNT.key};` +
      `BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};TableEndpoint=${tableEndpoint};`,
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
  };
}

export function azuriteService(options: {
  dataDir: string;
  ports: { blob: number; queue: number; table: number };
}): ServiceSpec {
  const { ports } = options;
  return {
    name: 'azurite',
    script: fileURLToPath(new URL('./main.js', import.meta.url)),
    args: [
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--location',
      join(options.dataDir, 'azurite'),
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(ports.blob),
      '--queueHost',
      '127.0.0.1',
      '--queuePort',
      String(ports.queue),
      '--tableHost',
      '127.0.0.1',
      '--tablePort',
      String(ports.table),
    ],
    ports: [
      { port: ports.blob, option: '--blob-port or --base-port' },
      { port: ports.queue, option: '--queue-port or --base-port' },
      { port: ports.table, option: '--table-port or --base-port' },
    ],
    ready: async () =>
      // Any HTTP answer (Azurite replies 400 to a bare GET) means the server accepts requests.
      (await httpAnswersWith(`http://127.0.0.1:${ports.blob}/`)) &&
      (await httpAnswersWith(`http://127.0.0.1:${ports.queue}/`)) &&
      (await httpAnswersWith(`http://127.0.0.1:${ports.table}/`)),
  };
}
