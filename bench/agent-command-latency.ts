// Benchmark: how fast an idle node agent acts on a command (part of a job's submit → start latency).
//
// Measured (one run): Azurite started in-process through the local stack; one real agent process
// (dist/agent/main.js, LOCAL_VM_ENV set, as the emulator spawns it) idle long enough for its command polling to have
// backed off to its slowest step; then SAMPLES times: a runTask (`true`) is sent to its command queue, and the time
// until its taskStarted event is received off node-events by a tight-polling reader in this process. Between
// samples the agent idles IDLE_MS again, so every sample starts from the backed-off state.
// Baseline (same run): the two queue hops alone, with no agent: this process sends a message to one queue, a tight
// poller receives it and sends one to a second queue, where a tight poller receives it — the floor any agent
// design on Storage queues pays.

import type { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { freePortPlan } from '../local/stack/ports.js';
import { startStack } from '../local/stack/stack.js';
import { NODE_EVENTS_QUEUE, nodeCommandQueueName, parseAgentEvent } from '../shared/domain/index.js';
import { latencySummary, machineInfo, spawnLocalAgent } from './bench-support.js';
import { replaceResultsSection, runIfMain } from './results-section.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench/results');
const _AGENT_MAIN = fileURLToPath(new URL('../agent/main.js', import.meta.url));
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 1500);
const MARK_START = '<!-- agent-command-latency:start -->';
const MARK_END = '<!-- agent-command-latency:end -->';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Receives from a queue with no delay between empty polls until `match` accepts a message; returns its text. */
async function receiveTight(queue: QueueClient, match: (text: string) => boolean): Promise<string> {
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    for (const m of receivedMessageItems) {
      await queue.deleteMessage(m.messageId, m.popReceipt);
      const text = Buffer.from(m.messageText, 'base64').toString('utf8');
      if (match(text)) return text;
    }
  }
}

const summary = (samples: number[]) => latencySummary(samples, 1);

export async function run(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-agent-latency-'));
  const stack = await startStack({ dataDir, ports: await freePortPlan(), services: ['azurite'] });
  let agent: ReturnType<typeof spawn> | undefined;
  try {
    const storage = stack.descriptor.storage;
    const queues = QueueServiceClient.fromConnectionString(storage.connectionString);
    const events = queues.getQueueClient(NODE_EVENTS_QUEUE);
    await events.createIfNotExists();

    // Baseline: two queue hops, tight pollers on both ends.
    const hopA = queues.getQueueClient('bench-hop-a');
    const hopB = queues.getQueueClient('bench-hop-b');
    await hopA.createIfNotExists();
    await hopB.createIfNotExists();
    const baseline: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const id = randomUUID();
      const relay = receiveTight(hopA, (t) => t === id).then(() =>
        hopB.sendMessage(Buffer.from(id).toString('base64')),
      );
      const t0 = performance.now();
      await hopA.sendMessage(Buffer.from(id).toString('base64'));
      await receiveTight(hopB, (t) => t === id);
      baseline.push(performance.now() - t0);
      await relay;
    }

    const scaleSet = `bai-clat${randomUUID().slice(0, 6)}`;
    agent = (await spawnLocalAgent({ dataDir, scaleSet, cluster: 'lat', storage })).agent;
    const registered = await receiveTight(events, (t) => t.includes('"registered"') && t.includes(scaleSet));
    const parsed = parseAgentEvent(registered);
    if (!parsed.ok || parsed.value.kind !== 'registered') throw new Error('no registration');
    const bootId = parsed.value.node.bootId;
    const commands = queues.getQueueClient(nodeCommandQueueName(scaleSet, '0'));
    const agentSamples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await sleep(IDLE_MS);
      const jobId = `job-${i}`;
      const command = {
        v: 1,
        kind: 'runTask',
        bootId,
        commandId: randomUUID(),
        jobId,
        attempt: 1,
        taskId: 'master',
        commandLine: 'true',
        workingDirectory: '/wd',
        environmentVariables: [],
        secrets: [],
        stdOutErrDirectory: `/out/${i}`,
        files: [],
      };
      const t0 = performance.now();
      await commands.sendMessage(Buffer.from(JSON.stringify(command)).toString('base64'));
      await receiveTight(events, (t) => t.includes('"taskStarted"') && t.includes(`"${jobId}"`));
      agentSamples.push(performance.now() - t0);
    }
    const base = summary(baseline);
    const measured = summary(agentSamples);
    return {
      benchmark: 'agent-command-latency',
      date: new Date().toISOString(),
      machine: machineInfo(),
      workload: { samples: SAMPLES, idleBetweenSamplesMs: IDLE_MS },
      baselineMs: base,
      agentMs: measured,
      ratioP50: Math.round((measured.p50 / base.p50) * 100) / 100,
    };
  } finally {
    agent?.kill('SIGKILL');
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function writeResults(result: Record<string, unknown>): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'agent-command-latency.json'), `${JSON.stringify(result, null, 2)}\n`);
  type S = { p50: number; p99: number; max: number; n: number };
  const b = result.baselineMs as S;
  const a = result.agentMs as S;
  const m = result.machine as { cpuModel: string; cpuCount: number; node: string; loadAverageAtEnd: number[] };
  const section = [
    MARK_START,
    '## agent-command-latency',
    '',
    'An idle node agent (command polling backed off) acting on a command: runTask sent → taskStarted received.',
    `Machine: ${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, load average at end ${m.loadAverageAtEnd.join(' / ')} (shared machine); ${String(result.date)}.`,
    '',
    '| | p50 | p99 | max | n |',
    '|---|---|---|---|---|',
    `| baseline: two queue hops, tight pollers, no agent | ${b.p50} ms | ${b.p99} ms | ${b.max} ms | ${b.n} |`,
    `| agent: runTask → taskStarted | ${a.p50} ms | ${a.p99} ms | ${a.max} ms | ${a.n} |`,
    `| ratio (p50) | ${String(result.ratioP50)} | | | |`,
    '',
    'Details and method: `bench/agent-command-latency.ts`; raw figures: `agent-command-latency.json`.',
    MARK_END,
  ].join('\n');
  await replaceResultsSection(resultsDir, MARK_START, MARK_END, section);
}

await runIfMain(import.meta.url, run, writeResults);
