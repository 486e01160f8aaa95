import type { ClusterSchedule } from '../domain/scheduling.js';

// The scheduler's view of persistence: one schedule document per cluster (queue + allocations), changed only by a
// read-modify-write under If-Match, so concurrent scheduling passes can never both give a node away
// (docs/decisions/0061-one-schedule-document-per-cluster.md).

export interface ScheduleStore {
  /** The cluster's schedule; an empty one if it was never written. */
  read(clusterId: string): Promise<ClusterSchedule>;
  /**
   * Applies `change` to the current document and writes the result with If-Match, re-reading and re-applying it on
   * a conflict, so the change is always computed on what it replaces. `change` returns the new document (the same
   * object for "no change": nothing is written) and a result for the caller, from the attempt that was written.
   */
  update<R>(
    clusterId: string,
    change: (current: ClusterSchedule) => { doc: ClusterSchedule; result: R },
  ): Promise<{ doc: ClusterSchedule; result: R }>;
  /** Removes the cluster's schedule (the cluster was deleted). */
  delete(clusterId: string): Promise<void>;
}
