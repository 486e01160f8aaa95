import type { SecretBox } from '../secrets/secret-box.js';
import type { OutputFileLister } from '../stores/output-files.js';
import type { OperationStore, ResourceStore } from '../stores/resource-store.js';

/** Starts and signals the durable lifecycles of resources; implemented over the Durable client. */
export interface Lifecycles {
  /** Starts the job's orchestration; starting it again for the same job is a no-op. */
  startJob(input: { jobId: string; operationId: string }): Promise<void>;
  /** Asks the job's orchestration to terminate the job. */
  terminateJob(input: { jobId: string; operationId: string }): Promise<void>;
}

/** Everything the API operations need, passed in so tests can give real or in-memory ones. */
export interface ApiDeps {
  store: ResourceStore;
  operations: OperationStore;
  secrets: SecretBox;
  lifecycles: Lifecycles;
  outputFiles: OutputFileLister;
  now(): Date;
  newId(): string;
}
