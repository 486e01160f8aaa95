import { readdir } from 'node:fs/promises';
import { cpus } from 'node:os';
import { LOCAL_VM_ENV } from '../shared/domain/agent-wire.js';
import { vCpusOf } from '../shared/domain/vm-sizes.js';
import { imdsGet } from './storage/credentials.js';

/** Who this VM is: from LOCAL_VM_ENV on the local stack, from the instance metadata service on Azure. */
export interface NodeIdentity {
  vmId: string;
  name: string;
  instanceId: string;
  vmSize: string;
  ipAddress: string;
  port: number;
  cores: number;
  gpus: number;
  /** Set locally only: the VM's disk and the shared "network" directory. */
  diskRoot?: string;
  networkRoot?: string;
  /** Set locally only: stands in for the VM's managed identity. */
  storageConnectionString?: string;
}

export function isLocalVm(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env[LOCAL_VM_ENV.vmId]);
}

export function localIdentity(env: NodeJS.ProcessEnv = process.env): NodeIdentity {
  const need = (key: keyof typeof LOCAL_VM_ENV): string => {
    const v = env[LOCAL_VM_ENV[key]];
    if (!v) throw new Error(`${LOCAL_VM_ENV[key]} is not set (the local compute emulator sets it for every VM)`);
    return v;
  };
  const vmSize = need('vmSize');
  return {
    vmId: need('vmId'),
    name: need('name'),
    instanceId: need('instanceId'),
    vmSize,
    ipAddress: env[LOCAL_VM_ENV.ipAddress] || '127.0.0.1',
    port: Number(env[LOCAL_VM_ENV.port] || 22),
    cores: vCpusOf(vmSize),
    gpus: gpusOf(vmSize),
    diskRoot: need('diskRoot'),
    networkRoot: need('networkRoot'),
    storageConnectionString: need('storageConnectionString'),
  };
}

interface ImdsInstance {
  compute: { vmId: string; name: string; vmSize: string; resourceId?: string };
  network?: { interface?: Array<{ ipv4?: { ipAddress?: Array<{ privateIpAddress?: string }> } }> };
}

export async function azureIdentity(): Promise<NodeIdentity> {
  const doc = JSON.parse(
    await imdsGet(new URL('http://169.254.169.254/metadata/instance?api-version=2021-02-01')),
  ) as ImdsInstance;
  const { vmId, name, vmSize, resourceId } = doc.compute;
  // Scale-set VMs are named <scaleSet>_<instanceId>; the resource id ends in /virtualMachines/<instanceId>.
  const instanceId =
    /\/virtualMachines\/([^/]+)$/i.exec(resourceId ?? '')?.[1] ?? name.slice(name.lastIndexOf('_') + 1);
  return {
    vmId,
    name,
    instanceId,
    vmSize,
    ipAddress: doc.network?.interface?.[0]?.ipv4?.ipAddress?.[0]?.privateIpAddress ?? '',
    port: 22,
    cores: cpus().length,
    gpus: await countNvidiaDevices(),
  };
}

async function countNvidiaDevices(): Promise<number> {
  try {
    return (await readdir('/dev')).filter((n) => /^nvidia\d+$/.test(n)).length;
  } catch {
    return 0;
  }
}

// GPUs of the N-series sizes Batch AI ran on (emulated VMs have none, but report what the size has).
const GPUS: Record<string, number> = {
  nc6: 1,
  nc12: 2,
  nc24: 4,
  nc24r: 4,
  nv6: 1,
  nv12: 2,
  nv24: 4,
  nd6s: 1,
  nd12s: 2,
  nd24s: 4,
  nd24rs: 4,
};

export function gpusOf(vmSize: string): number {
  const s = vmSize.toLowerCase().replace(/^standard_/, '');
  const base = s.replace(/_v[23]$/, '').replace(/s$/, (m) => (s.startsWith('nd') ? m : ''));
  return GPUS[s] ?? GPUS[base] ?? 0;
}
