// The node agent: `node dist/agent/main.js --config <path>` (cloud-init starts it on Azure; the local compute
// emulator spawns it for each VM, with LOCAL_VM_ENV set). See agent/README.md.
import { Agent } from './agent.js';
import { readBootConfig } from './boot-config.js';
import { azureIdentity, isLocalVm, localIdentity } from './identity.js';
import { errorText, log } from './log.js';
import { managedIdentityToken, parseConnectionString, type StorageAuth } from './storage/credentials.js';

function configPath(argv: string[]): string {
  const i = argv.indexOf('--config');
  const path = i >= 0 ? argv[i + 1] : undefined;
  if (!path) throw new Error('usage: node dist/agent/main.js --config <path to agent.json>');
  return path;
}

async function main(): Promise<void> {
  const config = await readBootConfig(configPath(process.argv.slice(2)));
  const identity = isLocalVm() ? localIdentity() : await azureIdentity();
  const auth: StorageAuth = identity.storageConnectionString
    ? (() => {
        const cs = parseConnectionString(identity.storageConnectionString);
        return { kind: 'sharedKey', accountName: cs.accountName, accountKey: cs.accountKey } as const;
      })()
    : { kind: 'token', token: managedIdentityToken(config.identityClientId) };
  const agent = new Agent(config, identity, auth);

  let exiting = false;
  const exit = async (reason: string, report: boolean) => {
    if (exiting) return;
    exiting = true;
    log.info('agent stopping', { reason });
    await agent.stop('shutdown', { report });
    process.exit(0);
  };
  process.on('SIGTERM', () => void exit('SIGTERM', true));
  process.on('SIGINT', () => void exit('SIGINT', true));
  // Spawned with an IPC channel (the local emulator): when the parent goes, the VM is gone; no orphans.
  if (process.connected) process.on('disconnect', () => void exit('parent gone', true));
  process.on('uncaughtException', (err) => log.error('uncaught exception', { error: errorText(err) }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { error: errorText(err) }));

  await agent.start();
}

main().catch((err) => {
  log.error('agent failed to start', { error: errorText(err) });
  process.exit(1);
});
