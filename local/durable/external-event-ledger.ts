// Which raised events an orchestration has not consumed, counted the way durable-functions consumes them, so that
// continueAsNew carries exactly those into the next execution (DTFx's preserveUnprocessedEvents).
//
// durable-functions hands a raised event to an open wait for its name, or keeps it until a wait for that name is
// made. Counting wait actions is not enough: a new Task.any puts all its children's actions out again, including
// waits made (and counted) earlier and still open (Azure/azure-functions-durable-js#574). Counted twice, such a
// wait hides a real unconsumed event, which the next execution then never sees — e.g. a job's next attempt's
// `allocated`, raised just before its previous generation continued as new. So a wait inside a compound action
// counts as new only beyond the open waits of its name, each of which a compound can put out again once.
// When unsure this errs towards carrying an event twice (an orchestration must take a repeat anyway: delivery is
// at least once), never towards dropping one.

import { ActionType, EventType, type HistoryEvent, type WireAction } from './history.js';

export interface EventLedger {
  /** Waits made and not yet given an event, by event name. */
  open: Record<string, number>;
  /** Events raised with no wait open for them, not yet taken by a later wait, by event name. */
  buffered: Record<string, number>;
}

export const emptyLedger = (): EventLedger => ({ open: {}, buffered: {} });

export const cloneLedger = (l: EventLedger): EventLedger => ({ open: { ...l.open }, buffered: { ...l.buffered } });

/** An episode's new events: each raised event goes to an open wait of its name, or is kept. */
export function recordRaisedEvents(ledger: EventLedger, events: readonly HistoryEvent[]): void {
  for (const e of events) {
    if (e.EventType !== EventType.EventRaised) continue;
    const name = e.Name ?? '';
    if ((ledger.open[name] ?? 0) > 0) ledger.open[name]! -= 1;
    else ledger.buffered[name] = (ledger.buffered[name] ?? 0) + 1;
  }
}

/** An episode's fresh actions: each new wait takes a kept event of its name, or stays open. */
export function recordWaits(ledger: EventLedger, actions: readonly WireAction[]): void {
  for (const top of actions) {
    const openBefore = { ...ledger.open };
    const claimed: Record<string, number> = {};
    walk(top, false);

    function walk(action: WireAction, inCompound: boolean): void {
      if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
        for (const child of action.compoundActions ?? []) walk(child, true);
        return;
      }
      if (action.actionType !== ActionType.WaitForExternalEvent) return;
      const name = action.externalEventName ?? '';
      if (inCompound && (claimed[name] ?? 0) < (openBefore[name] ?? 0)) {
        claimed[name] = (claimed[name] ?? 0) + 1; // an open wait put out again
        return;
      }
      if ((ledger.buffered[name] ?? 0) > 0) ledger.buffered[name]! -= 1;
      else ledger.open[name] = (ledger.open[name] ?? 0) + 1;
    }
  }
}

/** The raised events still kept: for each name, the newest `buffered[name]` of them, in their original order. */
export function unconsumedEvents(ledger: EventLedger, raised: readonly HistoryEvent[]): HistoryEvent[] {
  const left = { ...ledger.buffered };
  const keep = new Set<HistoryEvent>();
  for (let i = raised.length - 1; i >= 0; i--) {
    const e = raised[i]!;
    if (e.EventType !== EventType.EventRaised) continue;
    const name = e.Name ?? '';
    if ((left[name] ?? 0) > 0) {
      left[name]! -= 1;
      keep.add(e);
    }
  }
  return raised.filter((e) => keep.has(e));
}
