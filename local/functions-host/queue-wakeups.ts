// In-process wake-ups for queue listeners: when the host itself writes to a queue (an output binding),
// the listener of that queue polls at once instead of waiting for its next idle poll. Messages sent by
// other processes are still found by polling.

const wakers = new Map<string, Set<() => void>>();

export function queueKey(serviceUrl: string, queueName: string): string {
  return `${serviceUrl.replace(/\/+$/, '')}|${queueName.toLowerCase()}`;
}

export function onQueueWrite(key: string, wake: () => void): () => void {
  let set = wakers.get(key);
  if (!set) {
    set = new Set();
    wakers.set(key, set);
  }
  set.add(wake);
  return () => set.delete(wake);
}

export function notifyQueueWrite(key: string): void {
  for (const wake of wakers.get(key) ?? []) wake();
}
