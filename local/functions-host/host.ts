// The local Functions host: loads the app, starts extensions and triggers, and serves one HTTP surface.
//
// HTTP surface (matched in this order):
//   GET  /admin/host/status                         readiness → 200 {"state":"Running"}; 503 {"state":"Initialized"}
//                                                   while starting. Master key, loopback or not (as on Azure).
//   *    /admin/functions[/{name}]                  list / describe / run functions (master key), admin-api.ts
//   *    <extension.httpPathPrefixes>                extension.handleHttp under /runtime/webhooks/<x>/ (key:
//                                                   <x>_extension or master). Other extension prefixes (the
//                                                   durable client's keyless rpc endpoint) are served only on
//                                                   the internal listener, a second loopback port, never here.
//   *    /runtime/webhooks/eventgrid?functionName=   eventGrid triggers   (key: eventgrid_extension or master)
//   *    /runtime/webhooks/blobs?functionName=       EventGrid blob triggers (key: blobs_extension or master)
//   *    /<routePrefix>/<route>                      HTTP triggers (authLevel: anonymous | function | admin)
// Function routes and webhooks answer 503 until the host is Running and again once it is Stopping;
// extension prefixes are served from start until the extensions have been stopped.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ADMIN_FUNCTIONS_PATH, createAdminApi } from './admin-api.js';
import { BLOBS_SYSTEM_KEY, BLOBS_WEBHOOK_PATH, createBlobWebhook } from './blob-trigger.js';
import type {
  ExtensionHttpRequest,
  FunctionInvoker,
  HostExtension,
  HostLogger,
  InvocationResult,
  RegisteredFunction,
} from './contracts.js';
import { createEventGridWebhook, EVENTGRID_SYSTEM_KEY, EVENTGRID_WEBHOOK_PATH } from './event-grid-trigger.js';
import { startHttpServer } from './http-server.js';
import { createHttpTriggerDispatcher, routePrefixOf } from './http-trigger.js';
import { emptyResponse, type HostRequest, type HostResponse, jsonResponse } from './http-types.js';
import { HostKeys, presentedKey } from './keys.js';
import { loadFunctionApp } from './load-app.js';
import { queueSettings } from './queue-settings.js';
import { createQueueListener, type QueueListener } from './queue-trigger.js';
import { watchAzuriteQueueWrites } from './queue-wakeups.js';
import { createTimerScheduler, type TimerScheduler } from './timer-trigger.js';

export const STATUS_PATH = '/admin/host/status';
const WEBHOOKS_PREFIX = '/runtime/webhooks/';
// The stack supervisor allows 5 s before it kills a child: drain 4 s, leaving time to stop extensions.
const DEFAULT_DRAIN_MS = 4_000;

export interface StartHostOptions {
  appDir: string;
  /** 0 picks a free port. */
  port: number;
  dataDir: string;
  extensions?: readonly HostExtension[];
  log: HostLogger;
  /** Azurite's --location: watching its queue storage wakes idle queue listeners (optional). */
  azuriteLocation?: string;
  /** How long stop() waits for in-flight invocations (default 4 s). */
  drainTimeoutMs?: number;
}

export interface RunningHost {
  port: number;
  baseUrl: string;
  keys: HostKeys;
  functions: readonly RegisteredFunction[];
  /** Stops triggers, lets in-flight invocations finish (bounded), stops extensions, closes the server. */
  stop(): Promise<void>;
}

/** The system key an extension prefix needs: `/runtime/webhooks/<x>/…` → `<x>_extension`; else none. */
export function systemKeyNameForPrefix(prefix: string): string | undefined {
  if (!prefix.toLowerCase().startsWith(WEBHOOKS_PREFIX)) return undefined;
  const x = prefix.slice(WEBHOOKS_PREFIX.length).split('/')[0];
  return x ? `${x.toLowerCase()}_extension` : undefined;
}

/** Counts invocations in flight so stop() can wait for them. */
function trackInvocations(invoker: FunctionInvoker) {
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const tracked: FunctionInvoker = {
    async invoke(name, data, metadata): Promise<InvocationResult> {
      inFlight++;
      try {
        return await invoker.invoke(name, data, metadata);
      } finally {
        inFlight--;
        if (inFlight === 0) idle?.();
      }
    },
  };
  return {
    invoker: tracked,
    inFlight: () => inFlight,
    async drain(timeoutMs: number): Promise<boolean> {
      if (inFlight === 0) return true;
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        new Promise<boolean>((resolve) => {
          idle = () => resolve(true);
        }),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      return done;
    },
  };
}

export async function startHost(options: StartHostOptions): Promise<RunningHost> {
  const { log } = options;
  const extensions = options.extensions ?? [];
  const app = await loadFunctionApp(options.appDir, { extensions, log });
  const tracking = trackInvocations(app.invoker);
  const invoker = tracking.invoker;
  log.info('Loaded the app', {
    appDir: path.resolve(options.appDir),
    entryPoints: app.entryPoints,
    functions: app.functions.map((f) => `${f.name} (${f.trigger.binding.type})`),
  });

  const extensionRoutes = extensions.flatMap((ext) =>
    ext.httpPathPrefixes.map((prefix) => ({ ext, prefix, systemKeyName: systemKeyNameForPrefix(prefix) })),
  );
  const systemKeyNames = [
    EVENTGRID_SYSTEM_KEY,
    BLOBS_SYSTEM_KEY,
    ...extensionRoutes.flatMap((r) => (r.systemKeyName ? [r.systemKeyName] : [])),
  ];
  const keys = await HostKeys.load(
    options.dataDir,
    app.functions.map((f) => f.name),
    systemKeyNames,
  );

  const deps = { functions: app.functions, invoker, keys, log };
  const httpTriggers = createHttpTriggerDispatcher({ ...deps, routePrefix: routePrefixOf(app.hostJson) });
  const eventGrid = createEventGridWebhook(deps);
  const blobs = createBlobWebhook(deps);
  let baseUrl = '';
  const admin = createAdminApi({ ...deps, baseUrl: () => baseUrl, routePrefix: routePrefixOf(app.hostJson) });
  let state: 'Initialized' | 'Running' | 'Stopping' = 'Initialized';
  let extensionsStopped = false;

  async function route(req: HostRequest): Promise<HostResponse> {
    const lower = req.path.toLowerCase();
    if (lower === STATUS_PATH) {
      if (!keys.isMaster(presentedKey(req.headers, req.query))) return emptyResponse(401);
      return jsonResponse(state === 'Running' ? 200 : 503, { state });
    }
    // Extension routes are up from start until the extensions are stopped (work an extension resumes at
    // start, or a function still in flight while stopping, may call the durable client's rpc endpoint).
    const extensionResponse = await serveExtension(req, 'public');
    if (extensionResponse) return extensionResponse;
    if (state !== 'Running') return jsonResponse(503, { error: { message: `The host is ${state}` } });
    if (lower === ADMIN_FUNCTIONS_PATH || lower.startsWith(`${ADMIN_FUNCTIONS_PATH}/`)) return admin(req);
    if (lower === EVENTGRID_WEBHOOK_PATH || lower === `${EVENTGRID_WEBHOOK_PATH}/`) return eventGrid(req);
    if (lower === BLOBS_WEBHOOK_PATH || lower === `${BLOBS_WEBHOOK_PATH}/`) return blobs(req);
    if (httpTriggers.owns(req.rawPath)) return httpTriggers.handle(req);
    return emptyResponse(404);
  }

  /** An extension's answer when `req` is under one of its prefixes served on this listener; else undefined. */
  async function serveExtension(req: HostRequest, listener: 'public' | 'internal'): Promise<HostResponse | undefined> {
    const lower = req.path.toLowerCase();
    for (const r of extensionRoutes) {
      if (extensionsStopped) break;
      const prefix = r.prefix.toLowerCase();
      if (!(lower.startsWith(prefix) || `${lower}/` === prefix)) continue;
      // Keyed webhooks on the public port only; keyless prefixes on the internal listener only.
      if ((listener === 'public') !== (r.systemKeyName !== undefined)) continue;
      if (r.systemKeyName && !keys.allowsSystem(r.systemKeyName, presentedKey(req.headers, req.query))) {
        return emptyResponse(401);
      }
      const extReq: ExtensionHttpRequest = {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        body: req.body,
      };
      const res = await r.ext.handleHttp(extReq);
      return {
        status: res.status,
        ...(res.headers ? { headers: res.headers } : {}),
        ...(res.body !== undefined ? { body: res.body } : {}),
      };
    }
    return undefined;
  }

  function extensionSystemKey(ext: HostExtension): string | undefined {
    const name = extensionRoutes.find((r) => r.ext === ext && r.systemKeyName)?.systemKeyName;
    return name ? keys.systemKey(name) : undefined;
  }

  const server = await startHttpServer(options.port, route, log);
  baseUrl = `http://127.0.0.1:${server.port}`;
  // The internal listener: a random loopback port known only to this process (handed to extensions).
  const internal = await startHttpServer(
    0,
    async (req) => (await serveExtension(req, 'internal')) ?? emptyResponse(404),
    log,
  );
  const internalBaseUrl = `http://127.0.0.1:${internal.port}`;

  const started: HostExtension[] = [];
  const listeners: QueueListener[] = [];
  let timers: TimerScheduler | undefined;
  let stopAzuriteWatch = () => {};

  async function shutdown(): Promise<void> {
    state = 'Stopping';
    stopAzuriteWatch();
    for (const l of listeners) await l.stop();
    timers?.stop();
    const drained = await tracking.drain(options.drainTimeoutMs ?? DEFAULT_DRAIN_MS);
    if (!drained) log.warn('Stopped waiting for invocations still in flight', { inFlight: tracking.inFlight() });
    for (const ext of started.reverse()) {
      try {
        await ext.stop();
      } catch (err) {
        log.error('Extension failed to stop', { extension: ext.name, error: (err as Error).message });
      }
    }
    extensionsStopped = true;
    try {
      await app.runAppHook('appTerminate');
    } catch (err) {
      log.warn('appTerminate hook failed', { error: (err as Error).message });
    }
    await server.close();
    await internal.close();
  }

  try {
    await app.runAppHook('appStart');
    for (const ext of extensions) {
      const dataDir = path.join(options.dataDir, ext.name);
      await mkdir(dataDir, { recursive: true });
      await ext.start({
        functions: app.functions,
        invoker,
        baseUrl,
        dataDir,
        hostJson: app.hostJson,
        log,
        systemKey: extensionSystemKey(ext),
        internalBaseUrl,
      });
      started.push(ext);
    }
    const settings = queueSettings(app.hostJson);
    for (const fn of app.functions) {
      if (fn.trigger.binding.type.toLowerCase() !== 'queuetrigger') continue;
      const listener = createQueueListener({ fn, invoker, settings, log });
      listeners.push(listener);
    }
    timers = createTimerScheduler({ functions: app.functions, invoker, dataDir: options.dataDir, log });
    if (options.azuriteLocation && listeners.length > 0) {
      stopAzuriteWatch = watchAzuriteQueueWrites(options.azuriteLocation, log);
    }
    state = 'Running';
    for (const l of listeners) l.start();
    await timers.start();
  } catch (err) {
    await shutdown().catch(() => {});
    throw err;
  }

  log.info('Host started', {
    state,
    baseUrl,
    port: server.port,
    keysFile: keys.file,
    queueListeners: listeners.map((l) => `${l.functionName} ← ${l.queueName}`),
  });

  let stopping: Promise<void> | undefined;
  return {
    port: server.port,
    baseUrl,
    keys,
    functions: app.functions,
    stop() {
      stopping ??= shutdown();
      return stopping;
    },
  };
}
