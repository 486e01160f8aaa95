import type { InvocationContext, Timer } from '@azure/functions';
import { app } from '@azure/functions';
import { appServices } from '../dependencies.js';
import { isPoisonEntry, poisonEntry } from '../submission-errors.js';
import { POISON_QUEUE, SUBMISSIONS_QUEUE } from './submit-job-from-queue.js';

// The submission handler writes its own poison entries, sealed. The host still moves a message to the poison queue
// itself, raw, when the worker cannot even hand it to the handler: a message nested so deep that the worker's
// conversion of its trigger metadata overflows the stack fails before any app code runs, on Azure as here. This
// timer replaces every such raw entry in place (same queue message, new text) with a sealed one, so what the
// poison queue holds is sealed within one period. The queue is read with the storage SDK, never parsed by the
// worker, so no depth can stop it.

/** Every 5 seconds: a raw entry stays at most this long. */
export const SEAL_POISON_SCHEDULE = '*/5 * * * * *';
/** Enough for a poison queue that is read by people; more waits for the next period. */
const MAX_PER_RUN = 256;
const LEASE_SECONDS = 30;

export async function sealPoisonMessages(_timer: Timer, context: InvocationContext): Promise<number> {
  const { queues, base } = await appServices();
  const poison = queues.getQueueClient(POISON_QUEUE);
  if (!(await poison.exists())) return 0;
  // The usual case, a short queue of our own entries, is settled by a peek, which leaves them visible to readers.
  const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
  if (peekedMessageItems.length < 32 && peekedMessageItems.every((m) => isPoisonEntry(m.messageText, base.secrets))) {
    return 0;
  }
  let sealed = 0;
  const seen: Array<{ messageId: string; popReceipt: string }> = [];
  try {
    while (seen.length < MAX_PER_RUN) {
      const { receivedMessageItems } = await poison.receiveMessages({
        numberOfMessages: 32,
        visibilityTimeout: LEASE_SECONDS,
      });
      if (receivedMessageItems.length === 0) break;
      for (const message of receivedMessageItems) {
        if (isPoisonEntry(message.messageText, base.secrets)) {
          seen.push(message);
          continue;
        }
        try {
          const entry = poisonEntry(base.secrets, message.messageText, {
            rejectedAt: new Date().toISOString(),
            channel: 'queue',
            source: SUBMISSIONS_QUEUE,
            error: {
              code: 'PoisonMessage',
              message: `The host moved this message to ${POISON_QUEUE} after ${message.dequeueCount} failed deliveries; it never reached the submission handler.`,
            },
            dequeueCount: message.dequeueCount,
          });
          const text = Buffer.from(JSON.stringify(entry)).toString('base64');
          const updated = await poison.updateMessage(message.messageId, message.popReceipt, text, LEASE_SECONDS);
          seen.push({ messageId: message.messageId, popReceipt: updated.popReceipt ?? message.popReceipt });
          sealed++;
        } catch (err) {
          // One message we cannot rewrite must not keep the others raw; it is tried again next period.
          seen.push(message);
          context.error(`a raw ${POISON_QUEUE} message could not be sealed: ${(err as Error).message}`);
        }
      }
    }
  } finally {
    // Everything read becomes visible again at once: the entries stay for people to read.
    await Promise.allSettled(seen.map((m) => poison.updateMessage(m.messageId, m.popReceipt, undefined, 0)));
  }
  if (sealed > 0) context.warn(`sealed ${sealed} raw message(s) the host had moved to ${POISON_QUEUE}`);
  return sealed;
}

export function registerPoisonSealing(): void {
  app.timer('SealPoisonMessages', { schedule: SEAL_POISON_SCHEDULE, handler: sealPoisonMessages });
}
