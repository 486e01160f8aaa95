import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentBootConfig } from '../shared/domain/agent-bootstrap.js';
import { LOCAL_VM_ENV } from '../shared/domain/index.js';

// What several benchmarks share: the machine a figure was measured on, latency percentiles, and one real node
// agent process started the way the compute emulator starts it (for benchmarks that need no compute emulator).

/** The machine a result was measured on (load at the end: the machine is shared, figures scale with it). */
export function machineInfo(options: { platform?: boolean } = {}) {
  return {
    cpuModel: os
      .cpus()[0]
      ?.model.replace(/\s+\d+-Core Processor$/, '')
      .trim(),
    cpuCount: os.cpus().length,
    node: process.version,
    ...(options.platform ? { platform: `${os.platform()} ${os.release()}` } : {}),
    loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** n, p50, p99 and max of a set of samples (nearest rank), rounded to `decimals`. */
export function latencySummary(samples: readonly number[], decimals = 2) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
  const scale = 10 ** decimals;
  const r = (x: number) => Math.round(x * scale) / scale;
  return { n: s.length, p50: r(at(50)), p99: r(at(99)), max: r(s.at(-1) ?? Number.NaN) };
}

const AGENT_MAIN = fileURLToPath(new URL('../agent/main.js', import.meta.url));

/**
 * One agent process for an instance (0 unless given) of `scaleSet`, its disk under `dataDir/vms`, talking to the
 * stack's storage. Returns the process and its disk root.
 */
export async function spawnLocalAgent(input: {
  dataDir: string;
  scaleSet: string;
  /** The cluster name in the agent's resource id. */
  cluster: string;
  storage: { queueEndpoint: string; blobEndpoint: string; connectionString: string };
  /** Keep the agent's log (its stderr) readable; ignored otherwise. */
  stderr?: 'pipe' | 'ignore';
  instance?: number;
  heartbeatIntervalMs?: number;
  /** Node flags before the agent's script (e.g. how VMs start it). */
  nodeFlags?: readonly string[];
  /** More of the VM's environment (LOCAL_VM_ENV names). */
  env?: Record<string, string>;
}): Promise<{ agent: ChildProcess; disk: string }> {
  const { dataDir, scaleSet, storage } = input;
  const instance = input.instance ?? 0;
  const disk = path.join(dataDir, 'vms', `${scaleSet}_${instance}`);
  const config: AgentBootConfig = {
    v: 1,
    role: 'clusterNode',
    resourceId: `/subscriptions/0/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/clusters/${input.cluster}`,
    scaleSetName: scaleSet,
    queueEndpoint: storage.queueEndpoint,
    blobEndpoint: storage.blobEndpoint,
    heartbeatIntervalMs: input.heartbeatIntervalMs ?? 60_000,
    mountRoot: '/mnt/batch/tasks/shared/LS_root/mounts',
  };
  await mkdir(path.join(disk, 'etc/batchai'), { recursive: true });
  await writeFile(path.join(disk, 'etc/batchai/agent.json'), JSON.stringify(config));
  const args = [...(input.nodeFlags ?? []), AGENT_MAIN, '--config', path.join(disk, 'etc/batchai/agent.json')];
  const agent = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH,
      [LOCAL_VM_ENV.vmId]: randomUUID(),
      [LOCAL_VM_ENV.name]: `${scaleSet}_${instance}`,
      [LOCAL_VM_ENV.instanceId]: String(instance),
      [LOCAL_VM_ENV.vmSize]: 'STANDARD_D1_V2',
      [LOCAL_VM_ENV.diskRoot]: disk,
      [LOCAL_VM_ENV.networkRoot]: path.join(dataDir, 'network'),
      [LOCAL_VM_ENV.storageConnectionString]: storage.connectionString,
      ...input.env,
    },
    stdio: ['ignore', 'ignore', input.stderr ?? 'ignore', 'ipc'],
  });
  return { agent, disk };
}
