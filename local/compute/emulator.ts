// Wires the compute emulator together: store, VM processes, event outbox, HTTP listener; resumes VMs and
// interrupted operations of a previous run. main.ts only parses arguments and handles signals.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Compute, type ComputeSettings } from './compute.js';
import { EventOutbox, type EventTarget } from './event-outbox.js';
import { handleUnexpectedExit } from './handle-vm-crash.js';
import { continuationOf } from './operations/continuation-of.js';
import { resumeAfterRestart } from './run-operation.js';
import { listen } from './server.js';
import { SqliteComputeStore } from './sqlite-store.js';
import { VmProcesses } from './vm-processes.js';

export interface ComputeEmulatorOptions
  extends Partial<Omit<ComputeSettings, 'dataDir' | 'agentScript' | 'storageConnectionString'>> {
  /** 0 picks a free port. */
  port: number;
  dataDir: string;
  agentScript: string;
  storageConnectionString: string;
  /** The Event Grid custom topic; without it events stay in the outbox (GET /admin/events). */
  eventGrid?: EventTarget;
  log: Logger;
}

export interface RunningComputeEmulator {
  port: number;
  endpoint: string;
  compute: Compute;
  stop: () => Promise<void>;
}

export const DEFAULT_CORE_QUOTA = 200;

export async function startComputeEmulator(o: ComputeEmulatorOptions): Promise<RunningComputeEmulator> {
  const { log } = o;
  const settings: ComputeSettings = {
    dataDir: o.dataDir,
    agentScript: o.agentScript,
    bootDelayMs: o.bootDelayMs ?? 0,
    coreQuota: o.coreQuota ?? DEFAULT_CORE_QUOTA,
    pageSize: o.pageSize ?? 100,
    stopGraceMs: o.stopGraceMs ?? 5000,
    storageConnectionString: o.storageConnectionString,
    tenantId: o.tenantId ?? '00000000-0000-0000-0000-000000000000',
    retryAfterSeconds: o.retryAfterSeconds ?? 0,
    evictionNoticeMs: o.evictionNoticeMs ?? 0,
  };
  const store = new SqliteComputeStore(join(o.dataDir, 'db'));
  const outbox = new EventOutbox(store, o.eventGrid, log);
  let compute: Compute | undefined;
  const vms = new VmProcesses(log, (exit) => {
    if (compute) handleUnexpectedExit(compute, exit);
  });
  compute = new Compute(settings, store, vms, outbox, log);
  const c = compute;
  const { server, port } = await listen(o.port, c, log);
  resumeAfterRestart(c, (op) => continuationOf(c, op));
  outbox.start();
  log.info(
    { port, bootDelayMs: settings.bootDelayMs, coreQuota: settings.coreQuota, agentScript: settings.agentScript },
    'compute emulator listening',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await c.stop();
      await outbox.stop();
      store.close();
    })();
    return stopping;
  };
  return { port, endpoint: `http://127.0.0.1:${port}`, compute: c, stop };
}
