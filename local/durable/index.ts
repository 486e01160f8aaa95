// The Durable Functions backend for the local Functions host: a HostExtension that owns the
// orchestrationTrigger / activityTrigger types and the durableClient binding. Orchestrations run on the
// real durable-functions replay engine (invoked through the host); this module stores history in SQLite
// (sqlite-store.ts), dispatches episodes, activities and timers (durable-backend.ts and the parts it wires)
// and serves the Durable HTTP API (http-api.ts).

import os from 'node:os';
import type {
  BindingMetadata,
  ExtensionContext,
  ExtensionHttpRequest,
  ExtensionHttpResponse,
  HostExtension,
  RpcTypedData,
} from '../functions-host/contracts.js';
import { DurableBackend } from './durable-backend.js';
import { type ApiConfig, DURABLE_PREFIX, DurableHttpApi, durableClientData, RPC_PREFIX } from './http-api.js';
import { SqliteDurableStore } from './sqlite-store.js';

export type { DurableBackend } from './durable-backend.js';
export type { InstanceRow, RuntimeStatus } from './sqlite-store.js';

export interface DurableExtensionOptions {
  /** Overrides host.json extensions.durableTask.hubName. */
  hubName?: string;
  /** Override host.json extensions.durableTask.maxConcurrent*Functions. */
  maxConcurrentActivityFunctions?: number;
  maxConcurrentOrchestratorFunctions?: number;
}

export interface DurableExtension extends HostExtension {
  /** The running backend (after start), for in-process tests and benchmarks. */
  readonly backend: DurableBackend | undefined;
}

const DEFAULT_HUB = 'TestHubName';

function durableTaskSettings(hostJson: Record<string, unknown>): Record<string, unknown> {
  const ext = hostJson.extensions;
  if (!ext || typeof ext !== 'object') return {};
  const dt = (ext as Record<string, unknown>).durableTask;
  return dt && typeof dt === 'object' ? (dt as Record<string, unknown>) : {};
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 1 ? Math.floor(v) : undefined;
}

export function createDurableExtension(options: DurableExtensionOptions = {}): DurableExtension {
  let backend: DurableBackend | undefined;
  let store: SqliteDurableStore | undefined;
  let api: DurableHttpApi | undefined;
  let cfg: ApiConfig = { baseUrl: '', hubName: options.hubName ?? DEFAULT_HUB };

  return {
    name: 'durable',
    triggerTypes: ['orchestrationTrigger', 'activityTrigger'],
    inputBindingTypes: ['durableClient'],
    httpPathPrefixes: [DURABLE_PREFIX, RPC_PREFIX],
    get backend() {
      return backend;
    },

    async start(ctx: ExtensionContext): Promise<void> {
      const settings = durableTaskSettings(ctx.hostJson);
      const hub = options.hubName ?? (typeof settings.hubName === 'string' ? settings.hubName : DEFAULT_HUB);
      cfg = {
        baseUrl: ctx.baseUrl.replace(/\/+$/, ''),
        rpcBaseUrl: (ctx.internalBaseUrl ?? ctx.baseUrl).replace(/\/+$/, ''),
        hubName: hub,
        systemKey: ctx.systemKey,
      };
      const cpus = Math.max(1, os.cpus().length);
      store = new SqliteDurableStore(ctx.dataDir);
      backend = new DurableBackend({
        store,
        invoker: ctx.invoker,
        functions: ctx.functions,
        log: ctx.log,
        maxConcurrentActivityFunctions:
          options.maxConcurrentActivityFunctions ?? positiveInt(settings.maxConcurrentActivityFunctions) ?? 10 * cpus,
        maxConcurrentOrchestratorFunctions:
          options.maxConcurrentOrchestratorFunctions ??
          positiveInt(settings.maxConcurrentOrchestratorFunctions) ??
          10 * cpus,
      });
      api = new DurableHttpApi(backend, cfg);
      backend.recover();
    },

    inputBindingData(binding: BindingMetadata): RpcTypedData {
      const hub = typeof binding.taskHub === 'string' && binding.taskHub !== '' ? binding.taskHub : cfg.hubName;
      return { json: JSON.stringify(durableClientData(cfg, hub)) };
    },

    async handleHttp(req: ExtensionHttpRequest): Promise<ExtensionHttpResponse> {
      if (!api) return { status: 503, body: 'The Durable backend is not started.' };
      return api.handle(req);
    },

    async stop(): Promise<void> {
      await backend?.stop();
      store?.close();
      backend = undefined;
      store = undefined;
      api = undefined;
    },
  };
}
