import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { StorageEndpoints } from '../azurite/service.js';

// `.local/stack.json`: the one machine-readable description of a running local stack. Tools and tests
// read it instead of guessing ports; it carries local-only credentials (the well-known emulator keys, the
// local host's master key, a development bearer token from the local issuer), never a real secret.
export interface StackDescriptor {
  version: 1;
  dataDir: string;
  startedAt: string;
  pid: number;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  services: Record<string, { url: string; port: number }>;
  storage: StorageEndpoints;
  cosmos: { endpoint: string; key: string; database: string; caCertPath: string };
  functions?: { apiBaseUrl: string; durableWebhookBaseUrl: string; masterKey?: string; appDir: string };
  compute?: { endpoint: string };
  eventGrid?: { endpoint: string; topicKey: string };
  /** The local token issuer and a ready bearer token for the stack's default principal (Owner of the subscription). */
  auth?: {
    issuer: string;
    audience: string;
    tenantId: string;
    principalName: string;
    principalId: string;
    token: string;
  };
}

export const descriptorPath = (dataDir: string): string => join(dataDir, 'stack.json');

export async function writeDescriptor(descriptor: StackDescriptor): Promise<string> {
  const path = descriptorPath(descriptor.dataDir);
  await mkdir(dirname(path), { recursive: true });
  // Write-then-rename so a reader never sees half a file.
  await writeFile(`${path}.tmp`, `${JSON.stringify(descriptor, null, 2)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  return path;
}

export async function readDescriptor(dataDir: string): Promise<StackDescriptor> {
  return JSON.parse(await readFile(descriptorPath(dataDir), 'utf8')) as StackDescriptor;
}
