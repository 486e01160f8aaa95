import { z } from 'zod';
import { AGENT_PROTOCOL_VERSION, SEALED_FOR_NODE_ALG } from './agent-wire.js';

// The contract between the app and the node agent that runs on every VM. The agent shares only this folder
// with the app. Messages travel on Storage queues: one command queue per node (app → agent) and one shared
// event queue (agent → app). Every message names the node incarnation it concerns (scale set, instance id,
// vmId, bootId), so stale messages (an agent that was replaced, a command meant for a previous boot) are
// recognised and ignored on both sides. Queue bodies are JSON text; secrets inside them are sealed for the
// one node that may open them (see SealedForNode), never in clear.

// Names, constants and pure helpers live in agent-wire.ts (zod-free, for the agent) and are re-exported here.
export {
  AGENT_PROTOCOL_VERSION,
  NODE_EVENTS_QUEUE,
  nodeCommandQueueName,
  nodeIdOf,
  SEALED_FOR_NODE_ALG,
  SEALED_FOR_NODE_HKDF_INFO,
  scaleSetNameFor,
} from './agent-wire.js';

// ---------------------------------------------------------------------------------------------------------------
// Sealing for one node: the agent makes an X25519 key pair at every boot and registers its public key; the app
// seals each secret value for that key (ephemeral X25519 → HKDF-SHA256 → AES-256-GCM). Only that boot of that
// node can open it; a queue, a log or a poison message holds only ciphertext.

export const sealedForNodeSchema = z.strictObject({
  alg: z.literal(SEALED_FOR_NODE_ALG),
  /** The sender's ephemeral X25519 public key, SPKI DER, base64. */
  epk: z.string(),
  /** AES-GCM nonce (12 bytes), base64. */
  iv: z.string(),
  /** Ciphertext followed by the 16-byte GCM tag, base64. */
  ct: z.string(),
});
export type SealedForNode = z.infer<typeof sealedForNodeSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Node identity

export const nodeRefSchema = z.strictObject({
  /** ARM id of the cluster or file server the node belongs to. */
  resourceId: z.string(),
  scaleSetName: z.string(),
  instanceId: z.string(),
  /** The VM's unique id (IMDS vmId); a deleted-and-recreated instance has a new one. */
  vmId: z.string(),
  /** New at every start of the agent (VM boot, restart, reimage). */
  bootId: z.string(),
});
export type NodeRef = z.infer<typeof nodeRefSchema>;

const batchAiErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});

// ---------------------------------------------------------------------------------------------------------------
// Agent → app (queue NODE_EVENTS_QUEUE)

const eventBase = {
  v: z.literal(AGENT_PROTOCOL_VERSION),
  node: nodeRefSchema,
  /** Increases with every event of one boot, so the app can drop an older event that arrives late. */
  seq: z.number().int().nonnegative(),
  /** The agent's clock, ISO 8601; informative only (the app orders by seq). */
  at: z.string(),
};

/** A task's end as `taskExited` reports it (also re-reported inside `registered` and `heartbeat`). */
const taskExitSchema = z.strictObject({
  jobId: z.string(),
  attempt: z.number().int(),
  taskId: z.string(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  error: batchAiErrorSchema.optional(),
});
export type TaskExit = z.infer<typeof taskExitSchema>;

export const agentEventSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...eventBase,
    kind: z.literal('registered'),
    /** Where the node can be reached (remote login, framework rendezvous). */
    ipAddress: z.string(),
    port: z.number().int(),
    vmSize: z.string(),
    cores: z.number().int().positive(),
    gpus: z.number().int().nonnegative(),
    /** X25519 public key, SPKI DER base64: what the app seals this boot's secrets for. */
    publicKey: z.string(),
    agentVersion: z.string(),
    /**
     * Whether the node can run containerSettings jobs (a container engine answers). Added after v1 shipped:
     * optional, absent from older agents (treat absent as unknown).
     */
    containerEngine: z.boolean().optional(),
    /** What the node is doing right now: an agent that reconnects re-reports, so no single message is needed. */
    setup: z.enum(['none', 'running', 'succeeded', 'failed']),
    tasks: z.array(z.strictObject({ jobId: z.string(), attempt: z.number().int(), taskId: z.string() })),
    /** The task exits this boot remembers (bounded), reported again: added after v1, absent from older agents. */
    exits: z.array(taskExitSchema).optional(),
  }),
  z.strictObject({
    ...eventBase,
    kind: z.literal('heartbeat'),
    tasks: z.array(z.strictObject({ jobId: z.string(), attempt: z.number().int(), taskId: z.string() })),
    /** Exits of the last few heartbeat intervals, reported again in case their `taskExited` was lost. */
    exits: z.array(taskExitSchema).optional(),
  }),
  z.strictObject({
    ...eventBase,
    kind: z.literal('setupSucceeded'),
    setupId: z.string(),
  }),
  z.strictObject({
    ...eventBase,
    kind: z.literal('setupFailed'),
    setupId: z.string(),
    /** Batch AI's error shape, e.g. { code: 'MountFailed' | 'SetupTaskFailed', message, details }. */
    error: batchAiErrorSchema,
  }),
  z.strictObject({
    ...eventBase,
    kind: z.literal('taskStarted'),
    jobId: z.string(),
    attempt: z.number().int(),
    taskId: z.string(),
  }),
  z.strictObject({
    ...eventBase,
    kind: z.literal('taskExited'),
    jobId: z.string(),
    attempt: z.number().int(),
    taskId: z.string(),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
    error: batchAiErrorSchema.optional(),
  }),
  z.strictObject({
    ...eventBase,
    /** The answer to `unstageTask`: whether the staged task was dropped before it started, or had started. */
    kind: z.literal('unstaged'),
    jobId: z.string(),
    attempt: z.number().int(),
    taskId: z.string(),
    outcome: z.enum(['dropped', 'started']),
  }),
  z.strictObject({
    ...eventBase,
    kind: z.literal('stopping'),
    reason: z.enum(['shutdown', 'deleted', 'deallocated', 'restarting']),
  }),
]);
export type AgentEvent = z.infer<typeof agentEventSchema>;
export type AgentEventKind = AgentEvent['kind'];

// ---------------------------------------------------------------------------------------------------------------
// App → agent (queue nodeCommandQueueName(...))

/** A mount as the agent performs it: everything resolved, credentials sealed for the node. */
export const mountSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('azureBlob'),
    relativeMountPath: z.string(),
    accountName: z.string(),
    containerName: z.string(),
    /** The blob service endpoint (https://{account}.blob.core.windows.net/, or Azurite's locally). */
    blobEndpoint: z.string(),
    accountKey: sealedForNodeSchema.optional(),
    mountOptions: z.string().optional(),
  }),
  z.strictObject({
    kind: z.literal('azureFiles'),
    relativeMountPath: z.string(),
    accountName: z.string(),
    azureFileUrl: z.string(),
    accountKey: sealedForNodeSchema.optional(),
    fileMode: z.string(),
    directoryMode: z.string(),
  }),
  z.strictObject({
    kind: z.literal('fileServer'),
    relativeMountPath: z.string(),
    /** NFS server address and export (on Azure); locally the export is a shared directory (see the agent). */
    serverAddress: z.string(),
    exportPath: z.string(),
    sourceDirectory: z.string().optional(),
    mountOptions: z.string().optional(),
  }),
  z.strictObject({
    kind: z.literal('unmanaged'),
    relativeMountPath: z.string(),
    mountCommand: z.string(),
  }),
]);
export type MountSpec = z.infer<typeof mountSpecSchema>;

export const environmentVariableSpecSchema = z.strictObject({ name: z.string(), value: z.string() });
export const secretSpecSchema = z.strictObject({ name: z.string(), value: sealedForNodeSchema });

/** A job's containerSettings as the agent runs them: the registry password sealed for the node. */
export const containerSpecSchema = z.strictObject({
  image: z.string(),
  /** Registry server (absent: Docker Hub). */
  serverUrl: z.string().optional(),
  username: z.string().optional(),
  password: sealedForNodeSchema.optional(),
  /** Docker's --shm-size (e.g. '2g'). */
  shmSize: z.string().optional(),
});
export type ContainerSpec = z.infer<typeof containerSpecSchema>;

const commandBase = {
  v: z.literal(AGENT_PROTOCOL_VERSION),
  /** The boot this command is for; an agent drops commands addressed to another boot. */
  bootId: z.string(),
  /** Unique per command; the agent remembers what it executed so a redelivered command is done once. */
  commandId: z.string(),
};

export const agentCommandSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...commandBase,
    kind: z.literal('setup'),
    setupId: z.string(),
    /** Mounted under $AZ_BATCHAI_MOUNT_ROOT/<relativeMountPath>. */
    mounts: z.array(mountSpecSchema),
    setupTask: z
      .strictObject({
        commandLine: z.string(),
        runElevated: z.boolean(),
        environmentVariables: z.array(environmentVariableSpecSchema),
        secrets: z.array(secretSpecSchema),
        /**
         * Where the setup task's stdout.txt / stderr.txt go: a node path, usually under a mount; the agent expands
         * $AZ_BATCHAI_* references in it (e.g. $AZ_BATCHAI_MOUNT_ROOT/afs/...).
         */
        stdOutErrDirectory: z.string(),
      })
      .optional(),
  }),
  z.strictObject({
    ...commandBase,
    kind: z.literal('runTask'),
    jobId: z.string(),
    attempt: z.number().int(),
    taskId: z.string(),
    /** Run through the agent's own process spawning, never through our own shell string building. */
    commandLine: z.string(),
    workingDirectory: z.string(),
    environmentVariables: z.array(environmentVariableSpecSchema),
    secrets: z.array(secretSpecSchema),
    stdOutErrDirectory: z.string(),
    /** Extra files the task needs before it starts (e.g. the MPI host file), relative to the job's temp dir. */
    files: z.array(z.strictObject({ path: z.string(), content: z.string() })).default([]),
    /**
     * Run the command line inside this container (the job's containerSettings) instead of on the host. A node
     * without a container engine reports taskExited with error ContainerEngineUnavailable. Added after v1 shipped:
     * optional, so older senders and agents are unaffected.
     */
    container: containerSpecSchema.optional(),
    /**
     * The job's mountVolumes, mounted under the task's $AZ_BATCHAI_JOB_MOUNT_ROOT before it starts (a failure ends
     * the task with error MountFailed before it starts). Every task of the job may carry them: a volume already
     * mounted for the job on this node is reused; when the job's last task on the node ends, its blob mounts are
     * flushed and released. Added after v1 shipped: optional.
     */
    mounts: z.array(mountSpecSchema).optional(),
    /**
     * Staged behind the job running on the node now (decision 0120): the agent holds the task, without mounting or
     * starting anything, until every task listed here (wire task ids) has exited on this boot, then starts it at
     * once, with no round trip through the app. `startStaged` starts it earlier; `unstageTask` takes it back.
     * Added after v1 shipped: optional (absent: start now, as before).
     */
    after: z.array(z.string()).optional(),
  }),
  z.strictObject({
    ...commandBase,
    /** Start this staged task now, whatever it waits for (its predecessor ended without its tasks exiting here). */
    kind: z.literal('startStaged'),
    jobId: z.string(),
    attempt: z.number().int(),
    taskId: z.string(),
  }),
  z.strictObject({
    ...commandBase,
    /**
     * Take a staged task back. The agent answers with `unstaged`: `dropped` if the task had not started (it never
     * will: a staged runTask for it that comes later is dropped too; an ordinary one still runs), `started` if it had (with `kill`, once it is killed
     * and has exited; without, at once, and it runs on).
     */
    kind: z.literal('unstageTask'),
    jobId: z.string(),
    attempt: z.number().int(),
    taskId: z.string(),
    kill: z.boolean(),
  }),
  z.strictObject({
    ...commandBase,
    kind: z.literal('killTask'),
    jobId: z.string(),
    attempt: z.number().int(),
    taskId: z.string(),
  }),
]);
export type AgentCommand = z.infer<typeof agentCommandSchema>;
export type AgentCommandKind = AgentCommand['kind'];

/** Parses a queue body into an event; never throws (a bad message is the caller's to drop or poison). */
export function parseAgentEvent(text: string): { ok: true; value: AgentEvent } | { ok: false; error: string } {
  return parseJson(text, agentEventSchema);
}

export function parseAgentCommand(text: string): { ok: true; value: AgentCommand } | { ok: false; error: string } {
  return parseJson(text, agentCommandSchema);
}

function parseJson<T>(text: string, schema: z.ZodType<T>): { ok: true; value: T } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, value: parsed.data };
}
