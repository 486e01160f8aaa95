import type { SecretBox } from '../secrets/secret-box.js';
import type { NodeStore } from '../stores/node-store.js';
import type { OutputFileLister } from '../stores/output-files.js';
import type { OperationStore, ResourceStore } from '../stores/resource-store.js';

/** Starts and signals the durable lifecycles of resources; implemented over the Durable client. */
export interface Lifecycles {
  /** Starts the job's orchestration; starting it again for the same job is a no-op. */
  /** `uid` and `clusterId` when the caller has the job's record at hand (saves reading it back). */
  startJob(input: {
    jobId: string;
    operationId: string;
    uid?: string;
    clusterId?: string;
    /** Whether the job's cluster scales automatically (false: no demand to signal). */
    autoScale?: boolean;
  }): Promise<void>;
  /** Asks the job's orchestration to terminate the job. */
  terminateJob(input: { jobId: string; operationId: string }): Promise<void>;
  /** Starts the cluster's or file server's lifecycle (provisioning, scaling, deletion); idempotent. */
  startCompute(input: ComputeLifecycleInput): Promise<void>;
  /**
   * Tells a cluster's or file server's lifecycle that something it decides on changed (nodes, scale settings,
   * demand, a delete request). Level-triggered: the lifecycle re-reads everything, so the reason is informative.
   */
  computeChanged(input: ComputeLifecycleInput & { reason: string }): Promise<void>;
}

export interface ComputeLifecycleInput {
  kind: 'cluster' | 'fileServer';
  /** ARM id of the cluster or file server. */
  resourceId: string;
  uid: string;
  /** The create operation, completed when the resource is first steady. */
  operationId: string;
}

/** Everything the API operations need, passed in so tests can give real or in-memory ones. */
export interface ApiDeps {
  store: ResourceStore;
  operations: OperationStore;
  secrets: SecretBox;
  lifecycles: Lifecycles;
  outputFiles: OutputFileLister;
  /** Nodes of clusters and file servers: node counts and login information are read from them. */
  nodes: NodeStore;
  now(): Date;
  newId(): string;
}
