#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { descriptorPath } from './stack/descriptor.js';
import { type PortPlan, planPorts } from './stack/ports.js';
import { startStack } from './stack/stack.js';

function portOption(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InvalidArgumentError('must be a port number 1-65535');
  return port;
}

function countOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
}

const program = new Command('batchai-local').description('The embedded local stack of the serverless Batch AI');

program
  .command('start')
  .description('start the local stack (Azurite, Cosmos DB emulator, ...) on 127.0.0.1 and keep it running')
  .option('--data-dir <dir>', 'where every service keeps its data', '.local')
  .option(
    '--base-port <port>',
    'move every port: blob=N, queue=N+1, table=N+2, cosmos=N+3, functions=N+4, compute=N+5, eventgrid=N+6',
    portOption,
  )
  .option('--blob-port <port>', 'Azurite Blob port (default 10000)', portOption)
  .option('--queue-port <port>', 'Azurite Queue port (default 10001)', portOption)
  .option('--table-port <port>', 'Azurite Table port (default 10002)', portOption)
  .option('--cosmos-port <port>', 'Cosmos DB emulator port (default 8081)', portOption)
  .option('--functions-port <port>', 'Functions host port (default 7071)', portOption)
  .option('--compute-port <port>', 'compute emulator (ARM VM scale sets) port (default 10005)', portOption)
  .option('--eventgrid-port <port>', 'Event Grid emulator port (default 10006)', portOption)
  .option(
    '--boot-delay-ms <ms>',
    'compute emulator: time between a VM being created and its agent starting',
    countOption,
    0,
  )
  .option(
    '--core-quota <cores>',
    'compute emulator: regional vCPU quota (an allocation beyond it fails as on Azure)',
    countOption,
    200,
  )
  .option('--app <dir>', 'the Azure Functions v4 app to run (default: this repository, built)')
  .action(async (options) => {
    const started = Date.now();
    const overrides: Partial<PortPlan> = {
      blob: options.blobPort,
      queue: options.queuePort,
      table: options.tablePort,
      cosmos: options.cosmosPort,
      functions: options.functionsPort,
      compute: options.computePort,
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
        bootDelayMs: options.bootDelayMs,
        coreQuota: options.coreQuota,
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

await program.parseAsync(process.argv);
