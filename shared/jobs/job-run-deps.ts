import type { InfrastructureRetrySettings } from '../domain/retry-policy.js';
import type { NodeCommands } from '../nodes/node-commands.js';
import type { MountEndpoints } from '../nodes/resolve-node-setup.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { NodeStore } from '../stores/node-store.js';
import type { OperationStore, ResourceStore } from '../stores/resource-store.js';
import type { ScheduleStore } from '../stores/schedule-store.js';

// What running jobs needs: the stores, the nodes' command queues and the signals to other lifecycles. Signals are
// events (raised through the Durable client by the caller), never shared state: the scheduler of a cluster is
// woken, a job's lifecycle is told it got nodes or lost them.

export interface JobSignals {
  /** Something that can change a cluster's scheduling answer happened: its scheduler runs a pass. */
  scheduleChanged(clusterId: string): Promise<void>;
  /** The cluster gave nodes back that it wants to remove: its lifecycle re-plans (and deletes them). */
  clusterChanged(clusterId: string, reason: string): Promise<void>;
  /** An event for one job's lifecycle (by the job's ARM id). */
  jobEvent(jobId: string, name: string, payload: unknown): Promise<void>;
  /**
   * Whether the job's lifecycle may still be waiting for the nodes of this attempt (false once it is known to be
   * past them: on a later phase or attempt, or ended).
   */
  mayAwaitNodes(jobId: string, attempt: number): Promise<boolean>;
}

export interface JobRunDeps {
  store: ResourceStore;
  operations: OperationStore;
  nodes: NodeStore;
  schedules: ScheduleStore;
  secrets: SecretBox;
  commands: NodeCommands;
  endpoints: MountEndpoints;
  signals: JobSignals;
  /** The cap and back-off of infrastructure failures (DEFAULT_INFRASTRUCTURE_RETRIES when absent). */
  retries?: InfrastructureRetrySettings;
  now(): Date;
  newId(): string;
}

/** External events of a job's lifecycle; every payload carries the attempt it concerns. */
export const JOB_EVENTS = {
  allocated: 'allocated',
  taskExited: 'taskExited',
  nodeLost: 'nodeLost',
  releaseNodes: 'releaseNodes',
  terminate: 'terminate',
} as const;

export interface AllocatedEvent {
  jobId: string;
  attempt: number;
  nodeIds: string[];
  /**
   * The attempt's first phase, already launched by the scheduler pass that allocated the nodes (one durable hop
   * less before the job starts); absent if that failed, and the lifecycle launches it itself (same command ids).
   */
  launched?: unknown;
}

/** `allocated` for an allocation, with the launch made for it when there is one. */
export function allocatedEvent(
  a: { jobId: string; attempt: number; nodeIds: string[] },
  launched: unknown,
): AllocatedEvent {
  return { jobId: a.jobId, attempt: a.attempt, nodeIds: a.nodeIds, ...(launched ? { launched } : {}) };
}

export interface TaskExitedEvent {
  jobId: string;
  attempt: number;
  taskId: string;
  nodeId: string;
  exitCode: number | null;
  signal: string | null;
  error?: { code: string; message: string; details?: Array<{ name: string; value: string }> };
}

export interface NodeLostEvent {
  jobId: string;
  attempt: number;
  nodeId: string;
  reason: string;
  /** What the platform said took the node away (NodeRecord.lostBecause), when known: decides the attempt's kind. */
  cause?: string;
  /**
   * The node was lost by a VM event whose cause (an annotation such as VirtualMachinePreempted) has not arrived
   * yet; it usually follows within moments, and a later pass reports it (docs/decisions/0105).
   */
  causePending?: true;
}

export interface ReleaseNodesEvent {
  jobId: string;
  attempt: number;
  option: 'requeue' | 'terminate' | 'waitforjobcompletion';
  /** Why, when it is not a resize (the cluster was deleted): the error the job ends with under `terminate`. */
  error?: { code: string; message: string };
}
