// Playing cloud-init for a local VM: the scale set's customData is read back with the app's own parser
// (parseAgentBootstrap), the agent configuration is written where cloud-init would write it (inside the VM's
// disk), and the agent gets the environment that stands in for IMDS and managed identity (LOCAL_VM_ENV).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  AGENT_CONFIG_PATH,
  type AgentBootConfig,
  LOCAL_VM_ENV,
  parseAgentBootstrap,
} from '../../shared/domain/agent-bootstrap.js';

export { parseAgentBootstrap };

/** Where the agent configuration lives inside a VM's disk. */
export const agentConfigPathIn = (diskDir: string): string => join(diskDir, AGENT_CONFIG_PATH);

/** Writes the configuration the way cloud-init's write_files would (through a temp file: never half written). */
export async function writeAgentConfig(diskDir: string, config: AgentBootConfig): Promise<string> {
  const path = agentConfigPathIn(diskDir);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 });
  await rename(`${path}.tmp`, path);
  return path;
}

export interface VmIdentity {
  resourceId: string;
  vmId: string;
  name: string;
  instanceId: number;
  vmSize: string;
  priority: 'Regular' | 'Spot';
  diskDir: string;
  port: number;
  networkRoot: string;
  storageConnectionString: string;
}

/** The LOCAL_VM_ENV variables of one VM. Pure. */
export function localVmEnvironment(vm: VmIdentity): Record<string, string> {
  return {
    [LOCAL_VM_ENV.resourceId]: vm.resourceId,
    [LOCAL_VM_ENV.vmId]: vm.vmId,
    [LOCAL_VM_ENV.name]: vm.name,
    [LOCAL_VM_ENV.instanceId]: String(vm.instanceId),
    [LOCAL_VM_ENV.vmSize]: vm.vmSize,
    [LOCAL_VM_ENV.priority]: vm.priority,
    [LOCAL_VM_ENV.diskRoot]: vm.diskDir,
    [LOCAL_VM_ENV.ipAddress]: '127.0.0.1',
    [LOCAL_VM_ENV.port]: String(vm.port),
    [LOCAL_VM_ENV.networkRoot]: vm.networkRoot,
    [LOCAL_VM_ENV.storageConnectionString]: vm.storageConnectionString,
  };
}
