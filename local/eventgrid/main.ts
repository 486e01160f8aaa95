// Entry point run by the local stack supervisor:
//   node dist/local/eventgrid/main.js --port <n> --data-dir <dir> --config <subscriptions.json>
// env: AzureWebJobsStorage (Azurite connection string), EVENTGRID_TOPIC_KEY (key publishers must present).
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { startEventGridEmulator } from './emulator.js';

const log = pino({ base: { service: 'eventgrid' } });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
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

  const config = await loadConfig(configPath);
  const emulator = await startEventGridEmulator({
    port,
    dataDir,
    config,
    storageConnectionString: storage,
    topicKey,
    log,
  });

  let exiting = false;
  const shutdown = (signal: string) => {
    if (exiting) return;
    exiting = true;
    log.info({ signal }, 'stopping');
    // The supervisor expects an exit within a couple of seconds; everything is already persisted, so a
    // hard stop after 3 s loses nothing but in-flight attempts (which are redelivered on the next start).
    setTimeout(() => {
      log.warn('stop took too long; exiting');
      process.exit(0);
    }, 3000).unref();
    emulator
      .stop()
      .then(() => {
        log.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'event grid emulator failed to start');
  process.exit(1);
});
