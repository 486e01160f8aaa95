#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { descriptorPath } from './stack/descriptor.js';
import { ownerOnlyFromNowOn } from './stack/owner-only.js';
import { type PortPlan, planPorts } from './stack/ports.js';
import { rotateSecretsKey, secretsKeyPath } from './stack/secrets-keys.js';
import { startStack } from './stack/stack.js';

function portOption(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InvalidArgumentError('must be a port number 1-65535');
  return port;
}

const program = new Command('batchai-local').description('The embedded local stack of the serverless Batch AI');

program
  .command('start')
  .description('start the local stack (Azurite, Cosmos DB emulator, ...) on 127.0.0.1 and keep it running')
  .option('--data-dir <dir>', 'where every service keeps its data', '.local')
  .option(
    '--base-port <port>',
    'move every port: blob=N, queue=N+1, table=N+2, cosmos=N+3, functions=N+4, ...',
    portOption,
  )
  .option('--blob-port <port>', 'Azurite Blob port (default 10000)', portOption)
  .option('--queue-port <port>', 'Azurite Queue port (default 10001)', portOption)
  .option('--table-port <port>', 'Azurite Table port (default 10002)', portOption)
  .option('--cosmos-port <port>', 'Cosmos DB emulator port (default 8081)', portOption)
  .option('--functions-port <port>', 'Functions host port (default 7071)', portOption)
  .option('--eventgrid-port <port>', 'Event Grid emulator port (default 10006)', portOption)
  .option('--app <dir>', 'the Azure Functions v4 app to run (default: this repository, built)')
  .action(async (options) => {
    const started = Date.now();
    const overrides: Partial<PortPlan> = {
      blob: options.blobPort,
      queue: options.queuePort,
      table: options.tablePort,
      cosmos: options.cosmosPort,
      functions: options.functionsPort,
      eventgrid: options.eventgridPort,
    };
    const dataDir = resolve(options.dataDir);
    const log = (message: string) => console.log(`[stack] ${message}`);
    let stack: Awaited<ReturnType<typeof startStack>>;
    try {
      stack = await startStack({
        dataDir,
        ports: planPorts(options.basePort, overrides),
        ...(options.app ? { appDir: resolve(options.app) } : {}),
        onLog: log,
      });
    } catch (err) {
      console.error(`[stack] failed to start: ${(err as Error).message}`);
      process.exit(1);
    }
    const { descriptor } = stack;
    console.log(`[stack] ready in ${Date.now() - started} ms (data in ${dataDir})`);
    for (const [name, { url }] of Object.entries(descriptor.services)) console.log(`  ${name.padEnd(16)} ${url}`);
    if (descriptor.functions) {
      console.log(
        `  API base URL     ${descriptor.functions.apiBaseUrl}  (x-functions-key: functions.masterKey in the descriptor)`,
      );
      console.log(`  OpenAPI          ${descriptor.functions.apiBaseUrl}/openapi.json`);
    }
    console.log(`  storage connection string: see ${descriptorPath(dataDir)} (storage.connectionString)`);
    console.log(`  descriptor       ${descriptorPath(dataDir)}`);
    console.log('[stack] press Ctrl-C to stop');

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`[stack] ${signal}: stopping every service`);
      await stack.stop();
      console.log('[stack] stopped');
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

program
  .command('rotate-secrets-key')
  .description(
    "put a new current key in front of the stack's secrets sealing keys (older keys keep opening what they sealed); " +
      'the app uses it from its next start',
  )
  .option('--data-dir <dir>', "the stack's data dir", '.local')
  .action(async (options) => {
    const dataDir = resolve(options.dataDir);
    ownerOnlyFromNowOn();
    const { kept } = await rotateSecretsKey(dataDir);
    console.log(`[stack] new secrets key in ${secretsKeyPath(dataDir)} (${kept} kept); restart the stack to use it`);
  });

await program.parseAsync(process.argv);
