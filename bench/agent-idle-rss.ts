// Benchmark: resident memory (VmRSS) of an idle node agent. Target: ≤ 60 MB per idle agent (issue 7).
//
// Measured (one run): Azurite started in-process through the local stack (its own temp dir and free ports);
// AGENTS real agent processes (dist/agent/main.js) spawned as the local compute emulator spawns them (LOCAL_VM_ENV,
// an IPC channel), heartbeating every 1 s and polling their command queues. Two states:
//   - registered: registered and idle, no setup;
//   - set up: after a setup command with an Azure Files share, a blob container mount (the local blobfuse stand-in,
//     which keeps scanning and listing) and a setup task, then idle again;
//   - after tasks: TASKS short tasks per agent, each writing a file on the blob mount with its log shipped to the
//     container, then idle again (does memory come back?).
// For each state, VmRSS of every agent from /proc/<pid>/status is sampled once a second for SAMPLE_S seconds after
// SETTLE_S seconds of settling; figures are the median and max over agents × samples.
// Baseline (same run, same sampling): a bare `node -e "setInterval(() => {}, 1000)"` process, i.e. what Node
// itself costs, so the ratio shows what the agent adds.
// Two variants, each a full run: the agent started as `node main.js` (how the emulator spawns it today) and as
// `node --lite-mode main.js` (no optimizing compiler: what install-agent.sh uses on Azure).

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
import {
  type AgentEvent,
  LOCAL_VM_ENV,
  NODE_EVENTS_QUEUE,
  nodeCommandQueueName,
  parseAgentEvent,
} from '../shared/domain/index.js';
import { machineInfo, spawnLocalAgent } from './bench-support.js';
import { replaceResultsSection, runIfMain } from './results-section.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench/results');
const AGENTS = Number(process.env.BENCH_AGENTS ?? 4);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 5);
const SAMPLE_S = Number(process.env.BENCH_SAMPLE_S ?? 10);
const TASKS = Number(process.env.BENCH_TASKS ?? 20);
/** Each variant is a full run with these node flags for the agent processes: as spawned today, and `--lite-mode`. */
const VARIANTS: string[][] = [[], ['--lite-mode']];
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

async function measure(nodeFlags: string[]): Promise<Record<string, unknown>> {
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
      const { agent: child } = await spawnLocalAgent({
        dataDir,
        scaleSet,
        cluster: 'bench',
        storage,
        instance: i,
        heartbeatIntervalMs: 1000,
        nodeFlags,
        env: {
          [LOCAL_VM_ENV.resourceId]: `/vmss/${scaleSet}/virtualMachines/${i}`,
          [LOCAL_VM_ENV.priority]: 'Regular',
          [LOCAL_VM_ENV.ipAddress]: '127.0.0.1',
          [LOCAL_VM_ENV.port]: String(50000 + i),
        },
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

    // Then TASKS short tasks per agent (each writing to the blob mount, its log shipped), and idle again.
    for (const reg of received.filter(
      (e): e is Extract<AgentEvent, { kind: 'registered' }> => e.kind === 'registered',
    )) {
      const queue = queues.getQueueClient(nodeCommandQueueName(scaleSet, reg.node.instanceId));
      for (let t = 0; t < TASKS; t++) {
        const command = {
          v: 1,
          kind: 'runTask',
          bootId: reg.node.bootId,
          commandId: randomUUID(),
          jobId: `job-${t}`,
          attempt: 1,
          taskId: 'master',
          commandLine: 'echo epoch 1; echo done > "$AZ_BATCHAI_MOUNT_ROOT/bfs/out-$RANDOM.txt"',
          workingDirectory: '/mnt/batch/tasks/shared/LS_root/jobs/wd',
          environmentVariables: [],
          secrets: [],
          stdOutErrDirectory: `$AZ_BATCHAI_MOUNT_ROOT/bfs/logs/${reg.node.instanceId}/${t}`,
          files: [],
        };
        await queue.sendMessage(Buffer.from(JSON.stringify(command)).toString('base64'));
      }
    }
    await waitForEvents('taskExited', AGENTS * TASKS);
    const afterTasks = await sample(agents.map((a) => a.pid));

    const ratio = (x: number) => Math.round((x / baseline.medianMb) * 100) / 100;
    return {
      nodeFlags,
      workload: {
        agents: AGENTS,
        heartbeatIntervalMs: 1000,
        settleSeconds: SETTLE_S,
        sampleSeconds: SAMPLE_S,
        tasksPerAgent: TASKS,
      },
      baseline: { what: 'bare node -e "setInterval(() => {}, 1000)"', ...baseline },
      registered: { ...registered, ratioVsBaseline: ratio(registered.medianMb) },
      setUp: { ...setUp, ratioVsBaseline: ratio(setUp.medianMb) },
      afterTasks: { ...afterTasks, ratioVsBaseline: ratio(afterTasks.medianMb) },
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const variants: Array<Record<string, unknown>> = [];
  for (const flags of VARIANTS) variants.push(await measure(flags));
  return {
    benchmark: 'agent-idle-rss',
    date: new Date().toISOString(),
    machine: machineInfo({ platform: true }),
    variants,
    targetMb: 60,
  };
}

export async function writeResults(result: Record<string, unknown>): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'agent-idle-rss.json'), `${JSON.stringify(result, null, 2)}\n`);
  type S = { medianMb: number; maxMb: number; n: number; ratioVsBaseline?: number };
  type V = {
    nodeFlags: string[];
    workload: { agents: number; tasksPerAgent: number };
    baseline: S;
    registered: S;
    setUp: S;
    afterTasks: S;
  };
  const variants = result.variants as V[];
  const m = result.machine as { cpuModel: string; cpuCount: number; node: string; loadAverageAtEnd: number[] };
  const first = variants[0] as V;
  const row = (label: string, x: S) =>
    `| ${label} | ${x.medianMb} MB | ${x.maxMb} MB | ${x.ratioVsBaseline ?? 1} | ≤ 60 MB |`;
  const section = [
    MARK_START,
    '## agent-idle-rss',
    '',
    `Resident memory (VmRSS) of idle node agents: ${first.workload.agents} real agent processes against Azurite, heartbeating every 1 s and polling their command queues; baseline a bare \`node -e\` process in the same run.`,
    `Machine: ${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, load average at end ${m.loadAverageAtEnd.join(' / ')} (shared machine); ${String(result.date)}.`,
    '',
    '| agent state | median VmRSS | max VmRSS | ratio vs baseline (median) | target |',
    '|---|---|---|---|---|',
    `| baseline: bare \`node -e\` process | ${first.baseline.medianMb} MB | ${first.baseline.maxMb} MB | 1 | |`,
    ...variants.flatMap((v) => {
      const how = v.nodeFlags.length ? `\`node ${v.nodeFlags.join(' ')}\`` : 'plain `node`';
      return [
        row(`${how}: registered, idle`, v.registered),
        row(`${how}: after setup (Azure Files share + synced blob mount + setup task), idle`, v.setUp),
        row(
          `${how}: after ${v.workload.tasksPerAgent} tasks each (outputs on the blob mount, logs shipped), idle`,
          v.afterTasks,
        ),
      ];
    }),
    '',
    'Details and method: `bench/agent-idle-rss.ts`; raw figures: `agent-idle-rss.json`.',
    MARK_END,
  ].join('\n');
  await replaceResultsSection(resultsDir, MARK_START, MARK_END, section);
}

await runIfMain(import.meta.url, run, writeResults);
