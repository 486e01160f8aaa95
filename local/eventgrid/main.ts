// Entry point run by the local stack supervisor:
//   node dist/local/eventgrid/main.js --port <n> --data-dir <dir> --config <subscriptions.json> [--azurite-location <dir>]
// env: AzureWebJobsStorage (Azurite connection string), EVENTGRID_TOPIC_KEY (key publishers must present).
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { exitWhenParentDies } from '../stack/lifeline.js';
import { loadConfig } from './config.js';
import { type RunningEmulator, startEventGridEmulator } from './emulator.js';

// Log through process.stdout rather than pino's own synchronous writer: when the supervisor dies, a sync
// write to its dead pipe can block forever and keep this process from exiting.
process.stdout.on('error', () => {});
const log = pino({ base: { service: 'eventgrid' } }, process.stdout);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      // Optional: Azurite's --location, for early listings on blob writes (polling alone works without it).
      'azurite-location': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port ?? '0');
  const dataDir = values['data-dir'];
  const configPath = values.config;
  const storage = process.env.AzureWebJobsStorage;
  const topicKey = process.env.EVENTGRID_TOPIC_KEY;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0..65535');
  if (!dataDir) throw new Error('--data-dir is required');
  if (!configPath) throw new Error('--config is required');
  if (!storage) throw new Error('AzureWebJobsStorage must be set to the Azurite connection string');
  if (!topicKey) throw new Error('EVENTGRID_TOPIC_KEY must be set');

  // Handlers go in before anything starts, so a stop requested during start-up is still a clean exit 0
  // (SQLite commits are atomic, so stopping mid-start leaves nothing half-written).
  let emulator: RunningEmulator | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'stopping');
      await emulator?.stop();
      log.info('stopped');
    })();
    return stopping;
  };
  const onSignal = (signal: string) => {
    // The supervisor expects an exit within a couple of seconds; everything is already persisted, so a
    // hard stop after 2 s loses nothing but in-flight attempts (which are redelivered on the next start).
    setTimeout(() => {
      log.warn('stop took too long; exiting');
      process.exit(0);
    }, 2000).unref();
    stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  // Killed supervisor (even with SIGKILL): the IPC channel closes and we go too.
  exitWhenParentDies(() => stop('parent exited'), 2000);

  const config = await loadConfig(configPath);
  emulator = await startEventGridEmulator({
    port,
    dataDir,
    config,
    storageConnectionString: storage,
    topicKey,
    log,
    azuriteLocation: values['azurite-location'],
  });
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'event grid emulator failed to start');
  process.exit(1);
});
