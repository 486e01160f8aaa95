import type { JobProperties } from '../job-schema.js';
import type { JobResourceId } from '../resource-id.js';
import type { BatchAiError } from '../resource-states.js';
import type { ToolType } from '../toolkit-schema.js';

// What a launch plan is made from and what it produces. A plan is pure data: which process runs on which node,
// with which command line, environment and files. The caller turns each task into a `runTask` agent command,
// resolving `secretNames` into values sealed for that node; nothing secret is ever in a plan.

/** Where a node keeps mounts and job directories. Batch AI's paths on Azure; the local agent reports its own. */
export interface NodeLayout {
  /** $AZ_BATCHAI_MOUNT_ROOT: cluster mounts live below it. */
  mountRoot: string;
  /** $AZ_BATCHAI_JOB_TEMP_DIR: each job's directory lives below it. */
  jobsRoot: string;
}

export const AZURE_NODE_LAYOUT: Readonly<NodeLayout> = {
  mountRoot: '/mnt/batch/tasks/shared/LS_root/mounts',
  jobsRoot: '/mnt/batch/tasks/shared/LS_root/jobs',
};

/** Rendezvous ports a node owns, starting at its rendezvousPort (one per framework process on the node). */
export const RENDEZVOUS_PORTS_PER_NODE = 16;

/** The port frameworks meet on when every node has its own address (TensorFlow's customary 2222). */
export const DEFAULT_RENDEZVOUS_PORT = 2222;

export interface AllocatedNode {
  nodeId: string;
  ipAddress: string;
  /** The node's remote-login port (reported, not used for rendezvous). */
  port: number;
  gpus: number;
  /**
   * First of RENDEZVOUS_PORTS_PER_NODE ports reserved for this node's framework processes. Nodes that share an
   * address (every local node is 127.0.0.1) must own disjoint blocks; DEFAULT_RENDEZVOUS_PORT when absent.
   */
  rendezvousPort?: number;
  layout?: NodeLayout;
}

export interface LaunchInput {
  jobId: JobResourceId;
  /** The job's uid: part of its output path segment, the same for every attempt. */
  uid: string;
  attempt: number;
  /** Validated job properties (validateJobCreate's value; processCount defaults applied). */
  job: JobProperties;
  /** The job's nodes in allocation order; the first is the master node. */
  nodes: readonly AllocatedNode[];
  /**
   * The cluster opted into running container jobs directly on the host (local-only; see
   * clusterAllowsHostExecution). Without it a job with containerSettings needs a container engine on the node.
   */
  hostExecution?: boolean;
}

export interface TaskVariable {
  name: string;
  value: string;
}

export interface PlannedTask {
  nodeId: string;
  /** Unique within the job attempt: 'master', 'worker-1', 'ps-0', 'rank-1', 'jobprep'. */
  taskId: string;
  /** AZ_BATCHAI_TASK_INDEX of this task. */
  taskIndex: number;
  /** A shell command line (the agent runs it with bash, which expands the remaining $VARs). */
  commandLine: string;
  workingDirectory: string;
  environmentVariables: TaskVariable[];
  /** Names of the job's secrets to put in the environment; the caller seals their values for this node. */
  secretNames: string[];
  stdOutErrDirectory: string;
  /** Files to write before the task starts, relative to the job's temp directory (AZ_BATCHAI_JOB_TEMP). */
  files: Array<{ path: string; content: string }>;
}

export interface ContainerRequirement {
  image: string;
  serverUrl?: string;
  /** Registry user; the password (or its Key Vault reference) is resolved and sealed by the caller. */
  username?: string;
  shmSize?: string;
}

export interface LaunchPlan {
  toolType: ToolType;
  /** `jobPreparation` on every node, each before that node's tasks; empty when the job has none. */
  preparation: PlannedTask[];
  tasks: PlannedTask[];
  /**
   * How the tasks run: 'container' needs a container engine on every node (the image below); 'host' runs them
   * directly (no containerSettings, or the cluster opted into host execution).
   */
  execution: { mode: 'host' } | { mode: 'container'; container: ContainerRequirement };
  /** Set when containerSettings were given but the cluster runs them on the host (local-only setting). */
  containerIgnored?: ContainerRequirement;
}

export type LaunchPlanResult = { ok: true; plan: LaunchPlan } | { ok: false; error: BatchAiError };

/** What a toolkit contributes: its processes. Environment, files and directories are added by the common part. */
export interface ToolkitProcess {
  nodeIndex: number;
  taskId: string;
  taskIndex: number;
  commandLine: string;
  /** Framework variables of this process (AZ_BATCHAI_PS_HOSTS, TF_CONFIG, ...). */
  environment: TaskVariable[];
}

export type ToolkitPlanner = (ctx: ToolkitContext) => ToolkitProcess[] | BatchAiError;

export interface ToolkitContext {
  job: JobProperties;
  nodes: readonly AllocatedNode[];
  /** The rendezvous endpoint of the `slot`-th framework process on a node: ip and port. */
  endpoint(nodeIndex: number, slot: number): { host: string; port: number } | BatchAiError;
  /** `mpirun -np <n> --hostfile $AZ_BATCHAI_MPI_HOST_FILE -x ...` exporting every variable the job sets. */
  mpirun(processCount: number): string;
}
