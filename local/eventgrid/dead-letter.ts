// Dead-lettering to a file: one JSON line per event, in <dataDir>/deadletter/<subscription>.jsonl, with the
// properties Azure adds to dead-lettered events.
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeadLetterReason } from './retry-schedule.js';
import type { OutboxEntry } from './store.js';

export interface DeadLetterRecord {
  event: unknown;
  subscription: string;
  deadLetterReason: DeadLetterReason;
  deliveryAttempts: number;
  lastDeliveryOutcome: string | null;
  lastHttpStatusCode: number | null;
  publishTime: string;
  lastDeliveryAttemptTime: string | null;
}

export function deadLetterPath(dataDir: string, subscription: string): string {
  return join(dataDir, 'deadletter', `${subscription}.jsonl`);
}

export async function writeDeadLetter(dataDir: string, entry: OutboxEntry, reason: DeadLetterReason): Promise<void> {
  const record: DeadLetterRecord = {
    event: JSON.parse(entry.payload),
    subscription: entry.subscription,
    deadLetterReason: reason,
    deliveryAttempts: entry.attempts,
    lastDeliveryOutcome: entry.lastError,
    lastHttpStatusCode: entry.lastStatus,
    publishTime: new Date(entry.enqueuedAt).toISOString(),
    lastDeliveryAttemptTime: entry.lastAttemptAt === null ? null : new Date(entry.lastAttemptAt).toISOString(),
  };
  await mkdir(join(dataDir, 'deadletter'), { recursive: true });
  await appendFile(deadLetterPath(dataDir, entry.subscription), `${JSON.stringify(record)}\n`);
}
