import { mkdirSync } from 'node:fs';
import type { Server } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exitWhenParentDies } from '../stack/lifeline.js';
import { CosmosJournal } from './journal.js';
import { ensureTlsMaterial } from './tls.js';

// The stack's Cosmos DB emulator: @vercel/cosmosdb-server behind our own certificate, with its
// in-memory state made durable by CosmosJournal.
const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, 'compact-after': { type: 'string' } },
});
const port = Number(values.port);
const dataDir = values['data-dir'];
if (!Number.isInteger(port) || port <= 0 || !dataDir) {
  console.error('usage: main.js --port <n> --data-dir <dir>');
  process.exit(2);
}

const journalDir = join(dataDir, 'data');
mkdirSync(journalDir, { recursive: true });
const compactAfter = values['compact-after'] ? Number(values['compact-after']) : undefined;
const journal = new CosmosJournal({ dir: journalDir, ...(compactAfter ? { compactAfter } : {}) });
journal.instrument(require('@vercel/cosmosdb-server/lib/account/items.js').default.prototype);

// The server creates its account object when it starts listening and keeps it private; we subclass
// the account so we get hold of it and can load the persisted state into it before the first request.
const accountModule = require('@vercel/cosmosdb-server/lib/account/index.js');
const BaseAccount = accountModule.default;
let account: unknown;
accountModule.default = class extends BaseAccount {
  constructor(...args: unknown[]) {
    super(...args);
    account = this;
  }
};
const { createHttpsServer } = require('@vercel/cosmosdb-server') as {
  createHttpsServer(options: Record<string, unknown>): Server;
};

const tls = await ensureTlsMaterial(join(dataDir, 'tls'));
const server = createHttpsServer({ cert: tls.cert, key: tls.key, keepAlive: true });
// Node's default (5 s) closes idle connections while clients still hold them: the Cosmos SDK's agent ignores the
// Keep-Alive hint, reuses such a socket and gets "socket hang up" on a write it does not retry (seen as a 500 on a
// fresh stack's first API call). Idle connections stay open longer than any client keeps them.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', () => resolve());
});
const restored = journal.restore(account as Parameters<CosmosJournal['restore']>[0]);
console.log(
  JSON.stringify({ msg: 'cosmos emulator listening', url: `https://127.0.0.1:${port}/`, restored: restored.items }),
);

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  server.close();
  server.closeAllConnections();
  journal.close();
  console.log(JSON.stringify({ msg: 'cosmos emulator stopped; state saved' }));
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void shutdown().finally(() => process.exit(0));
  });
}
exitWhenParentDies(shutdown);
