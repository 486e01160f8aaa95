// Wake-ups for idle queue listeners, so a new message does not wait for the next idle poll:
// - in-process: when the host itself writes to a queue (an output binding), that queue's listener polls;
// - Azurite on this machine: Azurite appends every new message to an extent file under
//   `<azurite location>/__queuestorage__/`; watching that directory tells us *some* queue got a message
//   (not which one), so every listener polls. The file is written just before the message is indexed, so a
//   woken listener keeps polling quickly for a short while ("hot") instead of once.
// Messages still arrive by polling when neither applies.

import { existsSync, type FSWatcher, watch } from 'node:fs';
import path from 'node:path';
import type { HostLogger } from './contracts.js';

const ALL = '*';
const wakers = new Map<string, Set<() => void>>();

export function queueKey(serviceUrl: string, queueName: string): string {
  return `${serviceUrl.replace(/\/+$/, '')}|${queueName.toLowerCase()}`;
}

/** Registers a listener's wake-up for its queue (and for "some queue changed"). Returns the unsubscribe. */
export function onQueueWrite(key: string, wake: () => void): () => void {
  const keys = [key, ALL];
  for (const k of keys) {
    let set = wakers.get(k);
    if (!set) {
      set = new Set();
      wakers.set(k, set);
    }
    set.add(wake);
  }
  return () => {
    for (const k of keys) wakers.get(k)?.delete(wake);
  };
}

export function notifyQueueWrite(key: string): void {
  for (const wake of wakers.get(key) ?? []) wake();
}

function notifyAllQueues(): void {
  for (const wake of wakers.get(ALL) ?? []) wake();
}

/** Watches Azurite's queue extent directory; returns a stop function (a no-op when it cannot watch). */
export function watchAzuriteQueueWrites(azuriteLocation: string, log: HostLogger): () => void {
  const dir = path.join(azuriteLocation, '__queuestorage__');
  if (!existsSync(dir)) {
    log.warn('Azurite queue storage directory not found; queue listeners only poll', { dir });
    return () => {};
  }
  let watcher: FSWatcher;
  try {
    watcher = watch(dir, { persistent: false }, () => notifyAllQueues());
  } catch (err) {
    log.warn('Cannot watch Azurite queue storage; queue listeners only poll', { dir, error: (err as Error).message });
    return () => {};
  }
  watcher.on('error', (err) => log.warn('Azurite queue storage watch failed', { dir, error: err.message }));
  log.info('Watching Azurite queue storage for new messages', { dir });
  return () => watcher.close();
}
