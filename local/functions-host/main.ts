// Entry point of the local Functions host, run as a child process by the stack supervisor:
//   node dist/local/functions-host/main.js --app <dir> --port <n> --data-dir <dir>
//     [--azurite-location <Azurite --location>]  (wakes queue listeners on writes instead of waiting a poll)
//     [--no-durable]                             (do not load the Durable extension)
// App settings come from process.env. Logs are JSON lines on stdout (pino). Readiness: the "Host started"
// log line, or GET /admin/host/status (master key) → 200 {"state":"Running"}. SIGTERM/SIGINT: graceful stop, exit 0.
// A start error prints `functions-host: failed to start: <cause>` on stderr and exits 1.

import { format, parseArgs } from 'node:util';
import { pino } from 'pino';
import { createDurableExtension } from '../durable/index.js';
import { exitWhenParentDies } from '../stack/lifeline.js';
import type { HostLogger } from './contracts.js';
import { type RunningHost, startHost } from './host.js';

function parseCommandLine() {
  const { values } = parseArgs({
    options: {
      app: { type: 'string' },
      port: { type: 'string', default: '7071' },
      'data-dir': { type: 'string' },
      'no-durable': { type: 'boolean', default: false },
      'azurite-location': { type: 'string' },
    },
    strict: true,
  });
  if (!values.app) throw new Error('Missing --app <dir> (the built Functions app: package.json + host.json)');
  if (!values['data-dir']) throw new Error('Missing --data-dir <dir> (keys.json, timer status, extension data)');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid --port "${values.port}"`);
  return {
    appDir: values.app,
    port,
    dataDir: values['data-dir'],
    durable: !values['no-durable'],
    azuriteLocation: values['azurite-location'],
  };
}

// Log through process.stdout rather than pino's own synchronous fd writer: when the supervisor dies, its end
// of the pipe is gone, and the fd writer then spins on the dead pipe instead of letting us shut down.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
const logger = pino({ base: { service: 'functions-host' }, timestamp: pino.stdTimeFunctions.isoTime }, process.stdout);
const log: HostLogger = {
  info: (msg, fields) => logger.info(fields ?? {}, msg),
  warn: (msg, fields) => logger.warn(fields ?? {}, msg),
  error: (msg, fields) => logger.error(fields ?? {}, msg),
};

// The app's console output becomes log lines too, so stdout stays one JSON object per line.
for (const method of ['log', 'info', 'debug', 'warn', 'error', 'trace'] as const) {
  console[method] = (...args: unknown[]) => {
    const msg = format(...args);
    if (method === 'warn') logger.warn({ source: 'console' }, msg);
    else if (method === 'error') logger.error({ source: 'console' }, msg);
    else logger.info({ source: 'console' }, msg);
  };
}

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  logger.fatal({ error: message }, 'Host failed to start');
  process.stderr.write(`functions-host: failed to start: ${message}\n`);
  process.exit(1);
}

let host: RunningHost | undefined;
let stopping = false;

async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('Stopping the host', { signal });
  try {
    await host?.stop();
    log.info('Host stopped');
    process.exit(0);
  } catch (err) {
    log.error('Host failed to stop cleanly', { error: (err as Error).message });
    process.exit(1);
  }
}

process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
exitWhenParentDies(() => stop('parent exited'));

try {
  const args = parseCommandLine();
  host = await startHost({
    appDir: args.appDir,
    port: args.port,
    dataDir: args.dataDir,
    extensions: args.durable ? [createDurableExtension()] : [],
    ...(args.azuriteLocation ? { azuriteLocation: args.azuriteLocation } : {}),
    log,
  });
  if (stopping) await host.stop();
} catch (err) {
  fail(err);
}
