// The orchestrationTrigger payload: what the extension hands the durable-functions replay engine for one
// episode (functions-host-protocol.md §2). Built here and only here — the backend, the benchmark's
// engine-only baseline and the tests all use it, so the field set cannot drift between them.

import type { HistoryEvent } from './history.js';

export interface OrchestrationTriggerFields {
  instanceId: string;
  /** JSON text of the orchestration's input, or null when it has none (the field is then left out). */
  inputJson: string | null;
  /** True when the history holds earlier episodes (the engine replays them). */
  isReplaying: boolean;
  parentInstanceId: string | null;
}

/** Settings the extension reports with every episode (Azure's defaults). */
const ENGINE_SETTINGS =
  '"upperSchemaVersion":1,"upperSchemaVersionNew":2,"longRunningTimerIntervalDuration":"3.00:00:00",' +
  '"maximumShortTimerDuration":"6.00:00:00","defaultHttpAsyncRequestSleepTimeMillseconds":30000';

/**
 * The payload as JSON text, from history that is already JSON: `historyJson` is the events' JSON objects
 * joined by ',' (no brackets). The backend keeps history as text, so it never re-serializes old episodes.
 */
export function orchestrationTriggerJson(historyJson: string, f: OrchestrationTriggerFields): string {
  return (
    `{"history":[${historyJson}],${f.inputJson !== null ? `"input":${f.inputJson},` : ''}` +
    `"instanceId":${JSON.stringify(f.instanceId)},"isReplaying":${f.isReplaying},` +
    `"parentInstanceId":${JSON.stringify(f.parentInstanceId)},${ENGINE_SETTINGS}}`
  );
}

/** The same payload from history events (for callers that hold events, not text). */
export function orchestrationTrigger(
  history: readonly (HistoryEvent | Record<string, unknown>)[],
  f: OrchestrationTriggerFields,
): Record<string, unknown> {
  return JSON.parse(orchestrationTriggerJson(history.map((e) => JSON.stringify(e)).join(','), f)) as Record<
    string,
    unknown
  >;
}
