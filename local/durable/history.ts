// History events in the shape the durable-functions replay engine reads (functions-host-protocol.md §2),
// and the orchestrator state it returns. Field names are the extension's (PascalCase) on purpose.

export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  Name?: string;
  Input?: string | null;
  Version?: string;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  Result?: string;
  Reason?: string;
  Details?: string;
  InstanceId?: string;
  OrchestrationStatus?: string;
}

/** A message addressed to one orchestration instance: becomes a history event when the instance next runs. */
export type InstanceMessage = HistoryEvent;

export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

export interface WireRetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export interface WireAction {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  retryOptions?: WireRetryOptions;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: WireAction[];
}

/** What the orchestrator handler returns (or carries after `$OutOfProcData$:` when it throws). */
export interface OrchestratorState {
  isDone: boolean;
  actions: WireAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion?: number;
}

export function makeEvent(type: number, timestamp: string, fields: Partial<HistoryEvent> = {}): HistoryEvent {
  return { EventType: type, EventId: -1, IsPlayed: false, Timestamp: timestamp, ...fields };
}

/** Depth-first leaves of a (possibly compound) action, in the order the replay engine numbers them. */
export function flattenAction(action: WireAction, out: WireAction[] = []): WireAction[] {
  if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
    for (const child of action.compoundActions ?? []) flattenAction(child, out);
  } else {
    out.push(action);
  }
  return out;
}

/**
 * Inputs of activities and continueAsNew are pre-serialized by durable-functions only when they are strings
 * (Utils.processInput); other values arrive as plain JSON values. Returns the JSON text of the input.
 */
export function processedInputToJson(input: unknown): string {
  if (typeof input === 'string') return input;
  return JSON.stringify(input ?? null);
}

export const OUT_OF_PROC_LABEL = '$OutOfProcData$:';

/** Reads the orchestrator state from the error a failing orchestrator throws. */
export function stateFromOrchestratorError(err: Error): OrchestratorState | undefined {
  const at = err.message.indexOf(OUT_OF_PROC_LABEL);
  if (at < 0) return undefined;
  try {
    return JSON.parse(err.message.slice(at + OUT_OF_PROC_LABEL.length)) as OrchestratorState;
  } catch {
    return undefined;
  }
}
