// Benchmark: what it costs to make Azurite's acknowledged writes durable before the answer
// (local/azurite/durable-loki.ts, decision 0071).
//
// Two Azurite processes on the same machine, same flags, fresh data dirs, driven by the official SDKs:
//   - durable: the stack's launcher (dist/local/azurite/main.js: metadata saved before each response);
//   - baseline: Azurite as shipped (saves its metadata every 5 s, so it answers before the write is on disk).
// Measured for each, alternating rounds so both see the same machine load:
//   - queue sendMessage: N messages, 16 in flight, messages/s (the queue grows to N: the cost of a snapshot
//     grows with it), and the latency of single sends with the N-message backlog present (p50/p99);
//   - blob upload: M small block blobs, 8 in flight, uploads/s.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { storageEndpoints } from '../local/azurite/service.js';
import { freePort } from '../local/stack/ports.js';
import { replaceResultsSection, runIfMain } from './results-section.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench/results');
const launchers = {
  durable: fileURLToPath(new URL('../local/azurite/main.js', import.meta.url)),
  baseline: path.join(repoRoot, 'node_modules/azurite/dist/src/azurite.js'),
};

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1000);
const BLOBS = Number(process.env.BENCH_BLOBS ?? 300);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

type Kind = keyof typeof launchers;

interface Running {
  child: ChildProcess;
  queues: QueueServiceClient;
  blobs: BlobServiceClient;
  dir: string;
}

async function startAzurite(kind: Kind): Promise<Running> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `bench-azurite-${kind}-`));
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  const child = spawn(
    process.execPath,
    [
      launchers[kind],
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--location',
      dir,
      '--blobPort',
      String(ports.blob),
      '--queuePort',
      String(ports.queue),
      '--tablePort',
      String(ports.table),
    ],
    { stdio: 'ignore' },
  );
  const endpoints = storageEndpoints(ports);
  const queues = QueueServiceClient.fromConnectionString(endpoints.connectionString);
  const blobs = BlobServiceClient.fromConnectionString(endpoints.connectionString);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await queues.getProperties();
      await blobs.getProperties();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${kind} Azurite did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { child, queues, blobs, dir };
}

async function stopAzurite(r: Running): Promise<void> {
  const exited = new Promise((resolve) => r.child.once('exit', resolve));
  r.child.kill('SIGTERM');
  await exited;
  await rm(r.dir, { recursive: true, force: true });
}

async function inFlight(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

interface RoundResult {
  messagesPerSecond: number;
  sendLatencyMs: { p50: number; p99: number };
  uploadsPerSecond: number;
}

async function measure(kind: Kind): Promise<RoundResult> {
  const az = await startAzurite(kind);
  try {
    const queue = az.queues.getQueueClient('bench');
    await queue.create();
    let t = performance.now();
    await inFlight(MESSAGES, 16, (i) => queue.sendMessage(`message ${i} ${'x'.repeat(200)}`));
    const messagesPerSecond = Math.round(MESSAGES / ((performance.now() - t) / 1000));

    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const s = performance.now();
      await queue.sendMessage(`probe ${i}`);
      latencies.push(performance.now() - s);
    }
    latencies.sort((a, b) => a - b);

    const container = az.blobs.getContainerClient('bench');
    await container.create();
    const body = Buffer.alloc(1024, 7);
    t = performance.now();
    await inFlight(BLOBS, 8, (i) => container.getBlockBlobClient(`b/${i}.bin`).upload(body, body.length));
    const uploadsPerSecond = Math.round(BLOBS / ((performance.now() - t) / 1000));
    return {
      messagesPerSecond,
      sendLatencyMs: { p50: round2(percentile(latencies, 50)), p99: round2(percentile(latencies, 99)) },
      uploadsPerSecond,
    };
  } finally {
    await stopAzurite(az);
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const rounds: { durable: RoundResult; baseline: RoundResult }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const baseline = await measure('baseline');
    const durable = await measure('durable');
    rounds.push({ durable, baseline });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const pick = (k: Kind, f: (r: RoundResult) => number) => median(rounds.map((r) => f(r[k])));
  const cpus = os.cpus();
  return {
    benchmark: 'azurite-durable-writes',
    date: new Date().toISOString(),
    machine: {
      cpuModel: cpus[0]?.model ?? 'unknown',
      cpuCount: cpus.length,
      node: process.version,
      loadAverageAtEnd: os.loadavg().map(round2),
    },
    workload: {
      messages: MESSAGES,
      messagesInFlight: 16,
      latencySamples: LATENCY_SAMPLES,
      blobs: BLOBS,
      blobBytes: 1024,
    },
    rounds,
    durable: {
      messagesPerSecond: pick('durable', (r) => r.messagesPerSecond),
      sendLatencyP50Ms: pick('durable', (r) => r.sendLatencyMs.p50),
      sendLatencyP99Ms: pick('durable', (r) => r.sendLatencyMs.p99),
      uploadsPerSecond: pick('durable', (r) => r.uploadsPerSecond),
    },
    baseline: {
      description: 'Azurite as shipped: metadata saved every 5 s (acknowledged writes can be lost on kill -9)',
      messagesPerSecond: pick('baseline', (r) => r.messagesPerSecond),
      sendLatencyP50Ms: pick('baseline', (r) => r.sendLatencyMs.p50),
      sendLatencyP99Ms: pick('baseline', (r) => r.sendLatencyMs.p99),
      uploadsPerSecond: pick('baseline', (r) => r.uploadsPerSecond),
    },
    ratioVsBaseline: {
      messagesPerSecond: round2(median(rounds.map((r) => r.durable.messagesPerSecond / r.baseline.messagesPerSecond))),
      uploadsPerSecond: round2(median(rounds.map((r) => r.durable.uploadsPerSecond / r.baseline.uploadsPerSecond))),
    },
  };
}

const MARK_START = '<!-- azurite-durable-writes:start -->';
const MARK_END = '<!-- azurite-durable-writes:end -->';

export async function writeResults(result: Record<string, unknown>): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'azurite-durable-writes.json'), `${JSON.stringify(result, null, 2)}\n`);
  type Side = {
    messagesPerSecond: number;
    sendLatencyP50Ms: number;
    sendLatencyP99Ms: number;
    uploadsPerSecond: number;
  };
  const d = result.durable as Side;
  const b = result.baseline as Side;
  const r = result.ratioVsBaseline as { messagesPerSecond: number; uploadsPerSecond: number };
  const m = result.machine as { cpuModel: string; cpuCount: number; node: string; loadAverageAtEnd: number[] };
  const w = result.workload as { messages: number; blobs: number };
  const section = [
    MARK_START,
    '## azurite-durable-writes',
    '',
    'Azurite with metadata saved before each answer (`local/azurite/durable-loki.ts`) vs Azurite as shipped (5 s autosave).',
    `Machine: ${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, load average at end ${m.loadAverageAtEnd.join(' / ')} (shared machine); ${String(result.date)}.`,
    '',
    '| metric (median of rounds) | durable | baseline (as shipped) | ratio |',
    '|---|---|---|---|',
    `| queue sendMessage/s (${w.messages} messages, 16 in flight) | ${d.messagesPerSecond} | ${b.messagesPerSecond} | ${r.messagesPerSecond} |`,
    `| single sendMessage p50 / p99 with a ${w.messages}-message backlog | ${d.sendLatencyP50Ms} / ${d.sendLatencyP99Ms} ms | ${b.sendLatencyP50Ms} / ${b.sendLatencyP99Ms} ms | |`,
    `| 1 KiB block blob uploads/s (${w.blobs}, 8 in flight) | ${d.uploadsPerSecond} | ${b.uploadsPerSecond} | ${r.uploadsPerSecond} |`,
    '',
    'Details and method: `bench/azurite-durable-writes.ts`; raw figures: `azurite-durable-writes.json`.',
    MARK_END,
  ].join('\n');
  await replaceResultsSection(resultsDir, MARK_START, MARK_END, section);
}

await runIfMain(import.meta.url, run, writeResults);
