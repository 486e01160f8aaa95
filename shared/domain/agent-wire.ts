// The zod-free part of the agent contract: names, constants and pure helpers. The node agent imports only this
// module (and types) at run time, because loading zod costs an idle agent ~13 MB of its 60 MB budget
// (docs/decisions/0020-agent-without-sdks.md); agent-protocol.ts and agent-bootstrap.ts re-export everything
// here, so the app keeps importing from those.

export const AGENT_PROTOCOL_VERSION = 1;

/** The shared queue every agent reports on. */
export const NODE_EVENTS_QUEUE = 'node-events';

/**
 * The command queue of one node (a scale-set instance). Instance ids are never reused within a scale set, and
 * a reimaged instance keeps its id (its new boot gets a new bootId), so the name is stable for the node's life.
 * Queue names: 3-63 characters of lowercase letters, digits and single hyphens.
 */
export function nodeCommandQueueName(scaleSetName: string, instanceId: string): string {
  const vmss = scaleSetName.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return `node-${vmss}-${instanceId}`.replace(/-+/g, '-').replace(/-$/, '').slice(0, 63);
}

/** The scale set that backs a cluster (or a file server): derived from the resource's uid, stable and unique. */
export function scaleSetNameFor(kind: 'cluster' | 'fileServer', uid: string): string {
  return `${kind === 'cluster' ? 'bai-c' : 'bai-f'}${uid.replace(/-/g, '').slice(0, 24).toLowerCase()}`;
}

/** A node's id in the API (nodeId of listRemoteLoginInformation): the scale-set VM name, as Azure names it. */
export const nodeIdOf = (scaleSetName: string, instanceId: string): string => `${scaleSetName}_${instanceId}`;

export const SEALED_FOR_NODE_ALG = 'X25519-HKDF-SHA256-A256GCM';
/** HKDF info string; the salt is the recipient's public key (SPKI DER), binding the secret to that boot. */
export const SEALED_FOR_NODE_HKDF_INFO = 'batchai-node-secret-v1';

export const AGENT_CONFIG_PATH = '/etc/batchai/agent.json';

/**
 * Environment the local compute emulator gives each VM's agent process, standing in for what Azure provides
 * through IMDS (identity, size, address) and managed identity (storage access).
 */
export const LOCAL_VM_ENV = {
  /** Full ARM id of the scale-set VM. */
  resourceId: 'BATCHAI_VM_RESOURCE_ID',
  vmId: 'BATCHAI_VM_ID',
  name: 'BATCHAI_VM_NAME',
  instanceId: 'BATCHAI_VM_INSTANCE_ID',
  vmSize: 'BATCHAI_VM_SIZE',
  /** 'Regular' | 'Spot'. */
  priority: 'BATCHAI_VM_PRIORITY',
  /** The VM's disk: a directory the agent treats as its filesystem root (paths like /etc/… live below it). */
  diskRoot: 'BATCHAI_VM_DISK',
  ipAddress: 'BATCHAI_VM_IP',
  /** The node's remote-login port (the scale set's inbound NAT port on Azure). */
  port: 'BATCHAI_VM_PORT',
  /** Directory standing in for the network: Azure Files shares and file-server exports shared by every VM. */
  networkRoot: 'BATCHAI_VM_NETWORK_ROOT',
  /** Storage connection string standing in for the VM's managed identity (Azurite's well-known account). */
  storageConnectionString: 'BATCHAI_VM_STORAGE_CONNECTION_STRING',
} as const;
