// Wires the emulator together: store, blob watcher, topic endpoint, dispatcher. The one place that knows
// every part; main.ts only parses arguments and handles signals.
import type { Server } from 'node:http';
import { BlobServiceClient } from '@azure/storage-blob';
import type { Logger } from 'pino';
import { announceBlobChanges } from './announce-blob-changes.js';
import { type BlobChange, storageTopic } from './blob-events.js';
import { BlobWatcher, watchAzuriteWrites } from './blob-watcher.js';
import { customTopicId, type EmulatorConfig, watchedContainers } from './config.js';
import { Dispatcher } from './dispatcher.js';
import { fanOut } from './fan-out.js';
import { publishEvents } from './publish-events.js';
import { listen } from './server.js';
import { SqliteEventGridStore } from './sqlite-store.js';

export interface EmulatorOptions {
  /** 0 picks a free port. */
  port: number;
  dataDir: string;
  config: EmulatorConfig;
  /** Azurite connection string (AzureWebJobsStorage). */
  storageConnectionString: string;
  /** The key publishers must present in aeg-sas-key (or sign aeg-sas-token with). */
  topicKey: string;
  log: Logger;
  /** Azurite's --location: when given, its blob writes wake the watcher early (see watchAzuriteWrites). */
  azuriteLocation?: string;
}

export interface RunningEmulator {
  port: number;
  /** POST target for EventGridPublisherClient (it appends ?api-version itself). */
  topicEndpoint: string;
  /** Resolves once every watched container was listed once (the point from which writes are announced). */
  ready: Promise<void>;
  stop: () => Promise<void>;
}

export async function startEventGridEmulator(o: EmulatorOptions): Promise<RunningEmulator> {
  const { config, log } = o;
  const store = new SqliteEventGridStore(o.dataDir);
  const service = BlobServiceClient.fromConnectionString(o.storageConnectionString);
  const account = service.accountName;
  const blobTopic = storageTopic(config.subscriptionId, config.resourceGroup, account);
  const topicId = customTopicId(config);
  const containers = new Map(watchedContainers(config).map((c) => [c, service.getContainerClient(c)]));
  let port = 0;

  const dispatcher = new Dispatcher({
    store,
    subscriptions: config.subscriptions,
    dataDir: o.dataDir,
    log,
    retryTimeScale: config.retryTimeScale,
    deliveryTimeoutMs: config.deliveryTimeoutMs,
    maxConcurrentDeliveries: config.maxConcurrentDeliveries,
    topicFor: (sub) => (sub.source.type === 'container' ? blobTopic : topicId),
    validationUrlFor: (sub, code) =>
      `http://127.0.0.1:${port}/eventsubscriptions/${encodeURIComponent(sub.name)}/validate?id=${encodeURIComponent(code)}`,
  });

  const commitBlobChanges = (container: string, changes: BlobChange[]): void => {
    const client = containers.get(container);
    const queued = announceBlobChanges(
      { store, subscriptions: config.subscriptions, topic: blobTopic, account, log },
      { container, changes, urlOf: (name) => (client ? client.getBlobClient(name).url : '') },
    );
    if (queued > 0) dispatcher.kick();
  };

  const watcher = new BlobWatcher({
    containers,
    store,
    intervalMs: config.pollIntervalMs,
    log,
    commit: commitBlobChanges,
  });
  let ready = false;
  const readyPromise = watcher.ready.then(() => {
    ready = true;
    log.info({ containers: [...containers.keys()] }, 'ready');
  });

  let server: Server;
  ({ server, port } = await listen(
    o.port,
    {
      health: () =>
        ready ? { statusCode: 200, body: { status: 'ok' } } : { statusCode: 503, body: { status: 'starting' } },
      publish: (req) =>
        publishEvents(req, {
          topicKey: o.topicKey,
          topicId,
          now: Date.now(),
          enqueue: (events) => {
            const deliveries = fanOut(config.subscriptions, 'topic', events, new Date());
            store.enqueue(deliveries, Date.now());
            log.info({ events: events.length, deliveries: deliveries.length }, 'published');
            if (deliveries.length > 0) dispatcher.kick();
          },
        }),
      confirmValidation: (name, code) =>
        dispatcher.confirmValidation(name, code)
          ? { statusCode: 200, body: { message: 'Webhook successfully validated as a result of user action.' } }
          : {
              statusCode: 400,
              body: { error: { code: 'InvalidValidationCode', message: 'Unknown subscription or validation code.' } },
            },
      subscriptions: () => ({
        statusCode: 200,
        body: config.subscriptions.map((s) => ({
          name: s.name,
          source: s.source,
          schema: s.schema,
          filter: s.filter,
          validated: dispatcher.isValidated(s.name),
          pendingDeliveries: store.pendingCount(s.name),
        })),
      }),
    },
    log,
  ));
  log.info({ port, containers: [...containers.keys()], subscriptions: config.subscriptions.length }, 'listening');

  if (containers.size === 0) ready = true;
  dispatcher.start();
  watcher.start();
  const writeHints =
    o.azuriteLocation && containers.size > 0
      ? watchAzuriteWrites(o.azuriteLocation, () => watcher.hint(), log)
      : undefined;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      writeHints?.close();
      await watcher.stop();
      await dispatcher.stop(1000);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      store.close();
    })();
    return stopping;
  };
  return { port, topicEndpoint: `http://127.0.0.1:${port}/api/events`, ready: readyPromise, stop };
}
