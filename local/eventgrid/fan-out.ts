// Which subscriptions get which events, each converted to the subscription's schema, serialised once as
// the outbox stores it. Pure.
import type { Subscription, SubscriptionSource } from './config.js';
import { type AnyEvent, convertTo, dataVersionOf } from './event-schemas.js';
import { matchesFilter } from './filters.js';
import type { NewDelivery } from './store.js';

/** `container:<name>` or `topic`: what a subscription listens to, and what a batch of events came from. */
export function sourceKey(source: SubscriptionSource): string {
  return source.type === 'container' ? `container:${source.name}` : 'topic';
}

/** Which subscriptions get which events, each already converted to the subscription's schema. */
export function fanOut(
  subs: readonly Subscription[],
  key: string,
  events: readonly AnyEvent[],
  now: Date,
): NewDelivery[] {
  const out: NewDelivery[] = [];
  for (const sub of subs) {
    if (sourceKey(sub.source) !== key) continue;
    for (const e of events) {
      if (!matchesFilter(sub.filter, e)) continue;
      const converted = convertTo(sub.schema, e, now);
      out.push({
        subscription: sub.name,
        eventId: converted.event.id,
        payload: JSON.stringify(converted.event),
        dataVersion: dataVersionOf(converted),
      });
    }
  }
  return out;
}
