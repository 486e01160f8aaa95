import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { CosmosClient } from '@azure/cosmos';
import { DefaultAzureCredential } from '@azure/identity';
import type { Settings } from '../config/settings.js';

// One way to build the Cosmos client for every caller. Locally the emulator presents the stack's own
// certificate, which we pin (TLS verification stays on); on Azure the platform's CAs apply and, with
// no key configured, the app authenticates with its managed identity.
export function createCosmosClient(cosmos: Settings['cosmos']): CosmosClient {
  // Idle sockets are dropped after 4 s (`timeout` applies to free sockets; requests keep their own timeout), before
  // a server with Node's default 5 s keep-alive would close them under us: reusing a socket the server is closing
  // fails a write with "socket hang up", which the SDK does not retry.
  const agent = cosmos.caCertPath
    ? new Agent({ ca: readFileSync(cosmos.caCertPath), keepAlive: true, timeout: 4_000 })
    : undefined;
  return new CosmosClient({
    endpoint: cosmos.endpoint,
    ...(cosmos.key ? { key: cosmos.key } : { aadCredentials: new DefaultAzureCredential() }),
    ...(agent ? { agent } : {}),
    connectionPolicy: { enableEndpointDiscovery: false },
  });
}
