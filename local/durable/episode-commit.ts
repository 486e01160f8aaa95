// Step 5 of an episode: the whole plan in ONE unit of the store (history append, the instance row, new
// activities/timers/messages/child instances, consumed messages deleted). After a kill -9 the file holds
// all of it or none of it. The caller publishes the result (caches, wake-ups) only once this resolves.

import type { EpisodePlan } from './episode-plan.js';
import { EventType, makeEvent } from './history.js';
import { type ActivityRow, isTerminal, type SqliteDurableStore, type TimerRow, UnitRejected } from './sqlite-store.js';

/** The instance was restarted or purged while its orchestrator ran: this episode's plan is void. */
export class StaleEpisodeError extends UnitRejected {}

export interface Committed {
  activities: ActivityRow[];
  timers: TimerRow[];
  /** Instances that got a message (or were created) in this commit. */
  woken: Set<string>;
}

/** The history rows' text of the plan (events comma-joined, marked played for the next episode). */
export function appendText(plan: EpisodePlan): string {
  return plan.append.map((e) => JSON.stringify({ ...e, IsPlayed: true })).join(',');
}

/**
 * Commits the plan. `expectedExecutionId` is the execution the episode ran on; `historyLength` the number
 * of history rows it ran on (the next row's sequence number).
 */
export async function commitEpisode(
  store: SqliteDurableStore,
  plan: EpisodePlan,
  expectedExecutionId: string,
  historyLength: number,
  text: string = appendText(plan),
): Promise<Committed> {
  const row = plan.row;
  const woken = new Set<string>();
  const { activities, timers } = await store.batch(() => {
    woken.clear();
    // A restart or purge of this instance while the orchestrator ran makes this episode stale: the guarded
    // UPDATE then matches no row, nothing has been written, and the unit refuses.
    if (!store.updateInstance(row, expectedExecutionId)) throw new StaleEpisodeError('stale');
    if (plan.resetHistory) store.resetHistory(row.instanceId);
    if (text !== '') store.appendHistory(row.instanceId, plan.resetHistory ? 0 : historyLength, text);
    for (const id of plan.consumed) store.deleteMessage(row.instanceId, id);
    if (plan.deleteTimers) store.deleteTimersOf(row.instanceId);
    if (plan.deleteActivities) store.deleteInstanceActivities(row.instanceId);
    const messages = [...plan.messages];
    for (const c of plan.children) {
      const existing = store.getInstance(c.row.instanceId);
      if (existing && !isTerminal(existing.status)) {
        messages.push({
          instanceId: row.instanceId,
          executionId: row.executionId,
          event: makeEvent(EventType.SubOrchestrationInstanceFailed, new Date(row.lastUpdatedAt).toISOString(), {
            TaskScheduledId: c.parentTaskId,
            Reason: `An orchestration with instance ID '${c.row.instanceId}' already exists and is ${existing.status}.`,
            Details: '',
          }),
        });
        continue;
      }
      if (existing) store.deleteInstance(c.row.instanceId, true);
      store.putInstance(c.row);
      store.enqueueMessage(c.row.instanceId, c.row.executionId, c.start);
      woken.add(c.row.instanceId);
    }
    for (const m of messages) {
      store.enqueueMessage(m.instanceId, m.executionId, m.event);
      woken.add(m.instanceId);
    }
    return {
      activities: plan.activities.map((a) => store.enqueueActivity(a)),
      timers: plan.timers.map((t) => store.enqueueTimer(t)),
    };
  });
  return { activities, timers, woken };
}
