import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { CosmosClient } from '@azure/cosmos';
import { DefaultAzureCredential } from '@azure/identity';
import type { Settings } from '../config/settings.js';

// One way to build the Cosmos client for every caller. Locally the emulator presents the stack's own
// certificate, which we pin (TLS verification stays on); on Azure the platform's CAs apply and, with
// no key configured, the app authenticates with its managed identity.
export function createCosmosClient(cosmos: Settings['cosmos']): CosmosClient {
  const agent = cosmos.caCertPath ? new Agent({ ca: readFileSync(cosmos.caCertPath), keepAlive: true }) : undefined;
  return new CosmosClient({
    endpoint: cosmos.endpoint,
    ...(cosmos.key ? { key: cosmos.key } : { aadCredentials: new DefaultAzureCredential() }),
    ...(agent ? { agent } : {}),
    connectionPolicy: { enableEndpointDiscovery: false },
  });
}
