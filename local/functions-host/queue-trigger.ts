// Storage queue triggers against Azurite, following the storage extension's QueueListener/QueueProcessor:
// - receive up to batchSize messages; fetch more when in-flight drops to newBatchThreshold;
// - a received message is leased (invisible) while its invocation runs, the lease is renewed;
// - success → delete; failure → visible again after visibilityTimeout, or, once dequeueCount has reached
//   maxDequeueCount, copied as-is to `<queue>-poison` and deleted;
// - a message already dequeued more than maxDequeueCount times goes to poison without running.
// Idle queues are polled every `idlePollMs` (50 ms) so a message is picked up within ~50 ms instead of the
// seconds Azure's back-off adds; a poll that returns messages is followed by another one at once, and
// queue-wakeups.ts ends an idle wait early when a write is seen.

import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import { resolveAppSettingRefs } from './app-settings.js';
import type { FunctionInvoker, HostLogger, RegisteredFunction, RpcTypedData } from './contracts.js';
import type { QueueSettings } from './queue-settings.js';
import { onQueueWrite, queueKey } from './queue-wakeups.js';
import { queueService } from './storage-clients.js';

/** How long a received message stays invisible while its invocation runs, and how often that is renewed. */
const LEASE_SECONDS = 30;
const LEASE_RENEW_MS = 10_000;
const ERROR_BACKOFF_MS = 1_000;
const HOT_POLL_MS = 5;
const HOT_WINDOW_MS = 250;

export interface QueueListener {
  readonly functionName: string;
  readonly queueName: string;
  start(): void;
  /** Stops receiving; resolves when the poll loop has exited (in-flight invocations are not awaited). */
  stop(): Promise<void>;
}

export function decodeQueueMessage(
  text: string,
  encoding: QueueSettings['messageEncoding'],
): { ok: true; text: string } | { ok: false } {
  if (encoding === 'none') return { ok: true, text };
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) return { ok: false };
  return { ok: true, text: Buffer.from(compact, 'base64').toString('utf8') };
}

function iso(d: Date | undefined): RpcTypedData {
  return { string: d ? d.toISOString() : '' };
}

export function queueTriggerMetadata(msg: DequeuedMessageItem, text: string): Record<string, RpcTypedData> {
  return {
    QueueTrigger: { string: text },
    DequeueCount: { int: msg.dequeueCount },
    Id: { string: msg.messageId },
    InsertionTime: iso(msg.insertedOn),
    ExpirationTime: iso(msg.expiresOn),
    NextVisibleTime: iso(msg.nextVisibleOn),
    PopReceipt: { string: msg.popReceipt },
  };
}

/** A sleep that ends early on abort or when `interrupt` is called (e.g. the host wrote to the queue). */
function interruptibleSleep(signal: AbortSignal) {
  let current: (() => void) | undefined;
  let pending = false;
  return {
    sleep(ms: number): Promise<void> {
      if (signal.aborted || pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          current = undefined;
          resolve();
        };
        const t = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
        current = done;
      });
    },
    interrupt(): void {
      if (current) current();
      else pending = true;
    },
  };
}

export function createQueueListener(deps: {
  fn: RegisteredFunction;
  invoker: FunctionInvoker;
  settings: QueueSettings;
  log: HostLogger;
}): QueueListener {
  const { fn, invoker, settings, log } = deps;
  const binding = fn.trigger.binding;
  const queueName = resolveAppSettingRefs(String(binding.queueName)).toLowerCase();
  const service = queueService(binding.connection);
  const queue = service.getQueueClient(queueName);
  const poison = service.getQueueClient(`${queueName}-poison`);
  const abort = new AbortController();
  const idle = interruptibleSleep(abort.signal);
  // After a wake-up, poll every HOT_POLL_MS for HOT_WINDOW_MS: the write may not be indexed yet.
  let hotUntil = 0;
  const stopWakeups = onQueueWrite(queueKey(service.url, queueName), () => {
    hotUntil = Date.now() + HOT_WINDOW_MS;
    idle.interrupt();
  });
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  let poisonReady = false;

  async function moveToPoison(msg: DequeuedMessageItem, popReceipt: string, reason: string): Promise<void> {
    if (!poisonReady) {
      await poison.createIfNotExists();
      poisonReady = true;
    }
    await poison.sendMessage(msg.messageText);
    await queue.deleteMessage(msg.messageId, popReceipt);
    log.warn('Moved queue message to the poison queue', {
      functionName: fn.name,
      queue: queueName,
      poisonQueue: `${queueName}-poison`,
      messageId: msg.messageId,
      dequeueCount: msg.dequeueCount,
      reason,
    });
  }

  async function processMessage(msg: DequeuedMessageItem, client: QueueClient): Promise<void> {
    let popReceipt = msg.popReceipt;
    const renew = setInterval(() => {
      client
        .updateMessage(msg.messageId, popReceipt, undefined, LEASE_SECONDS)
        .then((r) => {
          if (r.popReceipt) popReceipt = r.popReceipt;
        })
        .catch((err: Error) =>
          log.warn('Failed to renew a queue message lease', { queue: queueName, error: err.message }),
        );
    }, LEASE_RENEW_MS);
    let succeeded = false;
    try {
      if (msg.dequeueCount > settings.maxDequeueCount) {
        await moveToPoison(msg, popReceipt, 'dequeueCount exceeds maxDequeueCount');
        return;
      }
      const decoded = decodeQueueMessage(msg.messageText, settings.messageEncoding);
      if (!decoded.ok) {
        log.warn('Queue message is not valid base64 (host.json messageEncoding is base64); failing it', {
          functionName: fn.name,
          queue: queueName,
          messageId: msg.messageId,
        });
      } else {
        const result = await invoker.invoke(fn.name, { string: decoded.text }, queueTriggerMetadata(msg, decoded.text));
        succeeded = result.ok;
        if (!result.ok) {
          log.warn('Queue-triggered function failed', {
            functionName: fn.name,
            messageId: msg.messageId,
            dequeueCount: msg.dequeueCount,
            error: result.error.message,
          });
        }
      }
    } finally {
      clearInterval(renew);
    }
    if (succeeded) {
      await client.deleteMessage(msg.messageId, popReceipt);
    } else if (msg.dequeueCount >= settings.maxDequeueCount) {
      await moveToPoison(
        msg,
        popReceipt,
        `failed ${msg.dequeueCount} times (maxDequeueCount ${settings.maxDequeueCount})`,
      );
    } else {
      await client.updateMessage(msg.messageId, popReceipt, undefined, Math.round(settings.visibilityTimeoutMs / 1000));
    }
  }

  async function run(): Promise<void> {
    let ready = false;
    let lastError = '';
    while (!abort.signal.aborted) {
      try {
        if (!ready) {
          await queue.createIfNotExists();
          ready = true;
          if (lastError) log.info('Queue listener recovered', { functionName: fn.name, queue: queueName });
          lastError = '';
        }
        if (inFlight > settings.newBatchThreshold) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        const want = Math.min(32, settings.batchSize);
        const res = await queue.receiveMessages({ numberOfMessages: want, visibilityTimeout: LEASE_SECONDS });
        if (res.receivedMessageItems.length === 0) {
          await idle.sleep(Date.now() < hotUntil ? HOT_POLL_MS : settings.idlePollMs);
          continue;
        }
        if (abort.signal.aborted) {
          // Stopped while receiving: hand the messages back instead of starting work.
          await Promise.allSettled(
            res.receivedMessageItems.map((m) => queue.updateMessage(m.messageId, m.popReceipt, undefined, 0)),
          );
          break;
        }
        for (const msg of res.receivedMessageItems) {
          inFlight++;
          processMessage(msg, queue)
            .catch((err: Error) =>
              log.error('Queue message processing failed', {
                functionName: fn.name,
                messageId: msg.messageId,
                error: err.message,
              }),
            )
            .finally(() => {
              inFlight--;
              wake?.();
            });
        }
      } catch (err) {
        const message = (err as Error).message;
        if (message !== lastError) {
          log.warn('Queue listener error; retrying', { functionName: fn.name, queue: queueName, error: message });
          lastError = message;
        }
        ready = false;
        await idle.sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  return {
    functionName: fn.name,
    queueName,
    start() {
      loop ??= run();
    },
    async stop() {
      abort.abort();
      stopWakeups();
      wake?.();
      await loop;
    },
  };
}
