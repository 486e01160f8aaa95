import { z } from 'zod';
import { AGENT_CONFIG_PATH } from './agent-wire.js';

export { AGENT_CONFIG_PATH, LOCAL_VM_ENV } from './agent-wire.js';

// How a VM becomes a node: the scale set's osProfile.customData is a cloud-init document (base64, ≤ 64 KB, no
// secret) that writes the agent's boot configuration to AGENT_CONFIG_PATH and starts the agent. On Azure,
// cloud-init runs it; the local compute emulator plays cloud-init: it reads the same document back with
// parseAgentBootstrap, writes the config into the VM's disk and starts the agent process. The agent learns who it
// is (vmId, instance id, …) from the instance metadata service on Azure and from LOCAL_VM_ENV locally, and
// reaches storage with the VM's managed identity on Azure (a stand-in credential in LOCAL_VM_ENV locally).

export const agentBootConfigSchema = z.strictObject({
  v: z.literal(1),
  /** What the VM is for: a cluster node runs tasks; a file server node serves an NFS export. */
  role: z.enum(['clusterNode', 'fileServer']),
  /** ARM id of the cluster or file server. */
  resourceId: z.string(),
  scaleSetName: z.string(),
  /** The storage account's queue endpoint: the node's command queue and the shared event queue live there. */
  queueEndpoint: z.string(),
  blobEndpoint: z.string(),
  /** Managed identity client id on Azure (user-assigned identity of the scale set); absent locally. */
  identityClientId: z.string().optional(),
  heartbeatIntervalMs: z.number().int().positive(),
  /** Mount root on the node ($AZ_BATCHAI_MOUNT_ROOT), relative to the disk root locally. */
  mountRoot: z.string(),
  /** File servers: the data disks to stripe (RAID 0 when more than one) and the export path. */
  fileServer: z.strictObject({ diskCount: z.number().int().positive(), exportPath: z.string() }).optional(),
});
export type AgentBootConfig = z.infer<typeof agentBootConfigSchema>;

const BEGIN = '# batchai-agent-config-begin';
const END = '# batchai-agent-config-end';

/** The customData (base64) for a scale set whose VMs run the agent with this configuration. */
export function renderAgentBootstrap(config: AgentBootConfig, agentPackageUrl: string): string {
  const content = Buffer.from(JSON.stringify(config), 'utf8').toString('base64');
  const cloudConfig = [
    '#cloud-config',
    'write_files:',
    BEGIN,
    `  - path: ${AGENT_CONFIG_PATH}`,
    '    permissions: "0644"',
    '    encoding: b64',
    `    content: ${content}`,
    END,
    'runcmd:',
    `  - [ sh, -c, "mkdir -p /opt/batchai && curl -fsSL '${agentPackageUrl}' | tar -xz -C /opt/batchai" ]`,
    '  - [ sh, -c, "/opt/batchai/install-agent.sh --config /etc/batchai/agent.json" ]',
    '',
  ].join('\n');
  return Buffer.from(cloudConfig, 'utf8').toString('base64');
}

/** Reads the agent configuration back out of a scale set's customData (what cloud-init would write). */
export function parseAgentBootstrap(
  customData: string,
): { ok: true; value: AgentBootConfig } | { ok: false; error: string } {
  const text = Buffer.from(customData, 'base64').toString('utf8');
  if (!text.startsWith('#cloud-config')) return { ok: false, error: 'customData is not a cloud-config document' };
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END, start);
  if (start < 0 || end < 0) return { ok: false, error: `customData writes no ${AGENT_CONFIG_PATH}` };
  const match = /content: ([A-Za-z0-9+/=]+)/.exec(text.slice(start, end));
  if (!match?.[1]) return { ok: false, error: `customData has no content for ${AGENT_CONFIG_PATH}` };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(match[1], 'base64').toString('utf8'));
  } catch {
    return { ok: false, error: 'the agent configuration in customData is not JSON' };
  }
  const parsed = agentBootConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `agent configuration ${issue?.path.join('.')}: ${issue?.message}` };
  }
  return { ok: true, value: parsed.data };
}
