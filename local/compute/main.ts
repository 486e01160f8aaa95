// Entry point run by the local stack supervisor:
//   node dist/local/compute/main.js --port <n> --data-dir <dir> [--agent-script <file>] [--boot-delay-ms <n>]
//     [--core-quota <n>] [--page-size <n>] [--stop-grace-ms <n>] [--eviction-notice-ms <n>] [--eventgrid-endpoint <url>]
// env: AzureWebJobsStorage (Azurite connection string, the VMs' stand-in for managed identity),
//      EVENTGRID_TOPIC_KEY (with --eventgrid-endpoint).

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { exitWhenParentDies } from '../stack/lifeline.js';
import { DEFAULT_CORE_QUOTA, type RunningComputeEmulator, startComputeEmulator } from './emulator.js';

// Log through process.stdout rather than pino's own synchronous writer: when the supervisor dies, a sync
// write to its dead pipe can block forever and keep this process from exiting.
process.stdout.on('error', () => {});
const log = pino({ base: { service: 'compute' } }, process.stdout);

/** The node agent of this repository, built: what every VM runs unless told otherwise. */
export const DEFAULT_AGENT_SCRIPT = fileURLToPath(new URL('../../agent/main.js', import.meta.url));

function intOption(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${raw}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'agent-script': { type: 'string' },
      'boot-delay-ms': { type: 'string' },
      'core-quota': { type: 'string' },
      'page-size': { type: 'string' },
      'stop-grace-ms': { type: 'string' },
      'eviction-notice-ms': { type: 'string' },
      'eventgrid-endpoint': { type: 'string' },
    },
    strict: true,
  });
  const port = intOption('port', values.port, 0);
  if (port > 65535) throw new Error('--port must be 0..65535');
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--data-dir is required');
  const storage = process.env.AzureWebJobsStorage;
  if (!storage) throw new Error('AzureWebJobsStorage must be set to the Azurite connection string');
  const eventGridEndpoint = values['eventgrid-endpoint'];
  const topicKey = process.env.EVENTGRID_TOPIC_KEY;
  if (eventGridEndpoint && !topicKey) throw new Error('EVENTGRID_TOPIC_KEY must be set with --eventgrid-endpoint');

  let emulator: RunningComputeEmulator | undefined;
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
    // Records are committed before every answer; VMs get a short grace, then the supervisor's deadline applies.
    setTimeout(() => {
      log.warn('stop took too long; exiting');
      process.exit(0);
    }, 4000).unref();
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
  // Killed supervisor (even with SIGKILL): the IPC channel closes and we go too (and our VMs with us).
  exitWhenParentDies(() => stop('parent exited'), 3000);

  emulator = await startComputeEmulator({
    port,
    dataDir,
    agentScript: values['agent-script'] ?? DEFAULT_AGENT_SCRIPT,
    bootDelayMs: intOption('boot-delay-ms', values['boot-delay-ms'], 0),
    coreQuota: intOption('core-quota', values['core-quota'], DEFAULT_CORE_QUOTA),
    pageSize: intOption('page-size', values['page-size'], 100, 1),
    stopGraceMs: intOption('stop-grace-ms', values['stop-grace-ms'], 5000),
    evictionNoticeMs: intOption('eviction-notice-ms', values['eviction-notice-ms'], 0),
    storageConnectionString: storage,
    ...(eventGridEndpoint && topicKey ? { eventGrid: { endpoint: eventGridEndpoint, key: topicKey } } : {}),
    log,
  });
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'compute emulator failed to start');
  process.exit(1);
});
