// Benchmark: resident memory (VmRSS) of an idle node agent. Target: ≤ 60 MB per idle agent (issue 7).
//
// Measured (one run): Azurite started in-process through the local stack (its own temp dir and free ports);
// AGENTS real agent processes (dist/agent/main.js) spawned as the local compute emulator spawns them (LOCAL_VM_ENV,
// an IPC channel), heartbeating every 1 s and polling their command queues. Two states:
//   - registered: registered and idle, no setup;
//   - set up: after a setup command with an Azure Files share, a blob container mount (the local blobfuse stand-in,
//     which keeps scanning and listing) and a setup task, then idle again.
// For each state, VmRSS of every agent from /proc/<pid>/status is sampled once a second for SAMPLE_S seconds after
// SETTLE_S seconds of settling; figures are the median and max over agents × samples.
// Baseline (same run, same sampling): a bare `node -e "setInterval(() => {}, 1000)"` process, i.e. what Node
// itself costs, so the ratio shows what the agent adds.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { freePortPlan } from '../local/stack/ports.js';
import { startStack } from '../local/stack/stack.js';
import type { AgentBootConfig } from '../shared/domain/agent-bootstrap.js';
import {
  type AgentEvent,
  LOCAL_VM_ENV,
  NODE_EVENTS_QUEUE,
  nodeCommandQueueName,
  parseAgentEvent,
} from '../shared/domain/index.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench/results');
const AGENT_MAIN = fileURLToPath(new URL('../agent/main.js', import.meta.url));
const AGENTS = Number(process.env.BENCH_AGENTS ?? 4);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 5);
const SAMPLE_S = Number(process.env.BENCH_SAMPLE_S ?? 10);
const MARK_START = '<!-- agent-idle-rss:start -->';
const MARK_END = '<!-- agent-idle-rss:end -->';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function sample(pids: number[]): Promise<{ medianMb: number; maxMb: number; n: number }> {
  await sleep(SETTLE_S * 1000);
  const values: number[] = [];
  for (let i = 0; i < SAMPLE_S; i++) {
    for (const pid of pids) values.push(await rssMb(pid));
    await sleep(1000);
  }
  values.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    medianMb: r(values[Math.floor(values.length / 2)] ?? Number.NaN),
    maxMb: r(values.at(-1) ?? Number.NaN),
    n: values.length,
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-agent-rss-'));
  const stack = await startStack({ dataDir, ports: await freePortPlan(), services: ['azurite'] });
  const children: Array<ReturnType<typeof spawn>> = [];
  try {
    const storage = stack.descriptor.storage;
    const queues = QueueServiceClient.fromConnectionString(storage.connectionString);
    const events = queues.getQueueClient(NODE_EVENTS_QUEUE);
    await events.createIfNotExists();
    const container = BlobServiceClient.fromConnectionString(storage.connectionString).getContainerClient('data');
    await container.createIfNotExists();
    for (let i = 0; i < 20; i++)
      await container.getBlockBlobClient(`input/file-${i}.txt`).upload('x'.repeat(1000), 1000);

    // Baseline: bare Node, sampled the same way.
    const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(bare);

    const scaleSet = `bai-cbench${randomUUID().slice(0, 6)}`;
    const agents: Array<{ pid: number; instanceId: string }> = [];
    for (let i = 0; i < AGENTS; i++) {
      const disk = path.join(dataDir, 'vms', `${scaleSet}_${i}`);
      const config: AgentBootConfig = {
        v: 1,
        role: 'clusterNode',
        resourceId: `/subscriptions/0/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/clusters/bench`,
        scaleSetName: scaleSet,
        queueEndpoint: storage.queueEndpoint,
        blobEndpoint: storage.blobEndpoint,
        heartbeatIntervalMs: 1000,
        mountRoot: '/mnt/batch/tasks/shared/LS_root/mounts',
      };
      await mkdir(path.join(disk, 'etc/batchai'), { recursive: true });
      await writeFile(path.join(disk, 'etc/batchai/agent.json'), JSON.stringify(config));
      const child = spawn(process.execPath, [AGENT_MAIN, '--config', path.join(disk, 'etc/batchai/agent.json')], {
        env: {
          PATH: process.env.PATH,
          [LOCAL_VM_ENV.resourceId]: `/vmss/${scaleSet}/virtualMachines/${i}`,
          [LOCAL_VM_ENV.vmId]: randomUUID(),
          [LOCAL_VM_ENV.name]: `${scaleSet}_${i}`,
          [LOCAL_VM_ENV.instanceId]: String(i),
          [LOCAL_VM_ENV.vmSize]: 'STANDARD_D1_V2',
          [LOCAL_VM_ENV.priority]: 'Regular',
          [LOCAL_VM_ENV.diskRoot]: disk,
          [LOCAL_VM_ENV.ipAddress]: '127.0.0.1',
          [LOCAL_VM_ENV.port]: String(50000 + i),
          [LOCAL_VM_ENV.networkRoot]: path.join(dataDir, 'network'),
          [LOCAL_VM_ENV.storageConnectionString]: storage.connectionString,
        },
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      });
      children.push(child);
      agents.push({ pid: child.pid as number, instanceId: String(i) });
    }

    const received: AgentEvent[] = [];
    const waitForEvents = async (kind: AgentEvent['kind'], count: number) => {
      const deadline = Date.now() + 120_000;
      while (received.filter((e) => e.kind === kind).length < count) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} ${kind} events`);
        const { receivedMessageItems } = await events.receiveMessages({ numberOfMessages: 32 });
        for (const m of receivedMessageItems) {
          const parsed = parseAgentEvent(Buffer.from(m.messageText, 'base64').toString('utf8'));
          if (parsed.ok) received.push(parsed.value);
          await events.deleteMessage(m.messageId, m.popReceipt);
        }
        if (receivedMessageItems.length === 0) await sleep(50);
      }
    };
    await waitForEvents('registered', AGENTS);
    const baseline = await sample([bare.pid as number]);
    const registered = await sample(agents.map((a) => a.pid));

    for (const reg of received.filter(
      (e): e is Extract<AgentEvent, { kind: 'registered' }> => e.kind === 'registered',
    )) {
      const command = {
        v: 1,
        kind: 'setup',
        bootId: reg.node.bootId,
        commandId: randomUUID(),
        setupId: 'bench',
        mounts: [
          {
            kind: 'azureFiles',
            relativeMountPath: 'afs',
            accountName: 'acct',
            azureFileUrl: 'https://acct.file.core.windows.net/share',
            fileMode: '0777',
            directoryMode: '0777',
          },
          {
            kind: 'azureBlob',
            relativeMountPath: 'bfs',
            accountName: storage.accountName,
            containerName: 'data',
            blobEndpoint: storage.blobEndpoint,
          },
        ],
        setupTask: {
          commandLine: 'echo ready',
          runElevated: false,
          environmentVariables: [],
          secrets: [],
          stdOutErrDirectory: '$AZ_BATCHAI_MOUNT_ROOT/afs/setup',
        },
      };
      await queues
        .getQueueClient(nodeCommandQueueName(scaleSet, reg.node.instanceId))
        .sendMessage(Buffer.from(JSON.stringify(command)).toString('base64'));
    }
    await waitForEvents('setupSucceeded', AGENTS);
    const setUp = await sample(agents.map((a) => a.pid));

    const ratio = (x: number) => Math.round((x / baseline.medianMb) * 100) / 100;
    return {
      benchmark: 'agent-idle-rss',
      date: new Date().toISOString(),
      machine: {
        cpuModel: os
          .cpus()[0]
          ?.model.replace(/\s+\d+-Core Processor$/, '')
          .trim(),
        cpuCount: os.cpus().length,
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
      },
      workload: { agents: AGENTS, heartbeatIntervalMs: 1000, settleSeconds: SETTLE_S, sampleSeconds: SAMPLE_S },
      baseline: { what: 'bare node -e "setInterval(() => {}, 1000)"', ...baseline },
      registered: { ...registered, ratioVsBaseline: ratio(registered.medianMb) },
      setUp: { ...setUp, ratioVsBaseline: ratio(setUp.medianMb) },
      targetMb: 60,
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function writeResults(result: Record<string, unknown>): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'agent-idle-rss.json'), `${JSON.stringify(result, null, 2)}\n`);
  type S = { medianMb: number; maxMb: number; n: number; ratioVsBaseline?: number };
  const b = result.baseline as S;
  const r = result.registered as S;
  const s = result.setUp as S;
  const m = result.machine as { cpuModel: string; cpuCount: number; node: string; loadAverageAtEnd: number[] };
  const w = result.workload as { agents: number };
  const section = [
    MARK_START,
    '## agent-idle-rss',
    '',
    `Resident memory (VmRSS) of idle node agents: ${w.agents} real agent processes against Azurite, heartbeating every 1 s and polling their command queues.`,
    `Machine: ${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, load average at end ${m.loadAverageAtEnd.join(' / ')} (shared machine); ${String(result.date)}.`,
    '',
    '| state | median VmRSS | max VmRSS | ratio vs baseline (median) | target |',
    '|---|---|---|---|---|',
    `| baseline: bare \`node -e\` process | ${b.medianMb} MB | ${b.maxMb} MB | 1 | |`,
    `| agent registered, idle | ${r.medianMb} MB | ${r.maxMb} MB | ${r.ratioVsBaseline} | ≤ 60 MB |`,
    `| agent after setup (Azure Files share + synced blob mount + setup task), idle | ${s.medianMb} MB | ${s.maxMb} MB | ${s.ratioVsBaseline} | ≤ 60 MB |`,
    '',
    'Details and method: `bench/agent-idle-rss.ts`; raw figures: `agent-idle-rss.json`.',
    MARK_END,
  ].join('\n');
  const readme = path.join(resultsDir, 'README.md');
  let text = '';
  try {
    text = await readFile(readme, 'utf8');
  } catch {
    text = '# Benchmark results\n';
  }
  const start = text.indexOf(MARK_START);
  const end = text.indexOf(MARK_END);
  text =
    start >= 0 && end > start
      ? `${text.slice(0, start)}${section}${text.slice(end + MARK_END.length)}`
      : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(readme, text);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await run();
  await writeResults(result);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}
