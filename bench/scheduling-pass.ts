// One scheduling pass (planAllocations) over queues of growing length, against a baseline run in the same process:
// reading each job's queued time and sorting those numbers, the O(n log n) floor any FIFO pass pays. If the
// pass is O(n log n), its ratio to the baseline stays flat as the queue grows ×10 (a quadratic pass would grow ×10
// per step). Results: bench/results/scheduling-pass.json and a section of bench/results/README.md.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Allocation, planAllocations, type QueuedJob, type SchedulerNode } from '../shared/domain/scheduling.js';
import { replaceResultsSection, runIfMain } from './results-section.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench/results');
const SIZES = (process.env.BENCH_QUEUE_SIZES ?? '1000,10000,100000').split(',').map(Number);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const NODES = 64;
const MARK_START = '<!-- scheduling-pass:start -->';
const MARK_END = '<!-- scheduling-pass:end -->';
const BASE = Date.parse('2026-01-01T00:00:00Z');

// A busy cluster: half the nodes held (so a reservation and backfill happen), a queue of mixed priorities and sizes.
function workload(n: number) {
  const nodes: SchedulerNode[] = Array.from({ length: NODES }, (_, i) => ({ nodeId: `n${i}`, state: 'idle' }));
  const allocations: Allocation[] = Array.from({ length: NODES / 8 }, (_, i) => ({
    jobId: `running-${i}`,
    attempt: 1,
    priority: 'normal',
    nodeIds: [0, 1, 2, 3].map((k) => `n${i * 4 + k}`),
    startedAt: new Date(BASE).toISOString(),
    deadline: new Date(BASE + (i + 1) * 600_000).toISOString(),
    queuedAt: new Date(BASE).toISOString(),
    nodeCount: 4,
    maxWallClockMs: (i + 1) * 600_000,
    backfilled: false,
  }));
  const priorities = ['low', 'normal', 'high'] as const;
  const queue: QueuedJob[] = Array.from({ length: n }, (_, i) => ({
    jobId: `job-${i}`,
    attempt: 1,
    priority: priorities[(i * 7) % 3]!,
    nodeCount: i % 5 === 0 ? 48 : 1 + (i % 3),
    queuedAt: new Date(BASE + ((i * 7919) % n) * 10).toISOString(),
    maxWallClockMs: 60_000 * (1 + (i % 90)),
  }));
  return { nodes, allocations, queue, now: new Date(BASE + 1000).toISOString() };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function run(): Promise<Record<string, unknown>> {
  const rows = SIZES.map((n) => {
    const input = workload(n);
    let started = 0;
    // Warm up once, then alternate pass and baseline so load changes on the shared machine hit both alike.
    planAllocations(input);
    const pass: number[] = [];
    const sort: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      pass.push(time(() => (started = planAllocations(input).allocations.length)));
      sort.push(time(() => Float64Array.from(input.queue, (q) => Date.parse(q.queuedAt)).sort()));
    }
    const passMs = median(pass);
    const sortMs = median(sort);
    return {
      queueLength: n,
      passMs: round(passMs),
      sortBaselineMs: round(sortMs),
      ratio: round(passMs / sortMs),
      started,
    };
  });
  return {
    date: new Date().toISOString(),
    machine: {
      cpuModel: os.cpus()[0]?.model ?? '?',
      cpuCount: os.cpus().length,
      node: process.version,
      loadAverage: os.loadavg().map(round),
    },
    workload: { nodes: NODES, repeats: REPEATS },
    rows,
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

export async function writeResults(result: Record<string, unknown>): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'scheduling-pass.json'), `${JSON.stringify(result, null, 2)}\n`);
  const rows = result.rows as Array<{
    queueLength: number;
    passMs: number;
    sortBaselineMs: number;
    ratio: number;
    started: number;
  }>;
  const m = result.machine as { cpuModel: string; cpuCount: number; node: string; loadAverage: number[] };
  const section = [
    MARK_START,
    '## scheduling-pass',
    '',
    `One planAllocations pass on a ${NODES}-node cluster (half held, so a reservation and EASY backfill happen), median of ${REPEATS}.`,
    "Baseline: parsing each job's queued time and sorting the numbers, in the same process (the O(n log n) floor).",
    `Machine: ${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, load average ${m.loadAverage.join(' / ')} (shared machine); ${String(result.date)}.`,
    '',
    '| queue length | pass (ms) | sort baseline (ms) | ratio pass / sort | jobs started |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.queueLength} | ${r.passMs} | ${r.sortBaselineMs} | ${r.ratio} | ${r.started} |`),
    '',
    'A flat ratio as the queue grows ×10 is the O(n log n) claim; a quadratic pass would multiply it by ~10 per row.',
    'Details: `bench/scheduling-pass.ts`; raw figures: `scheduling-pass.json`.',
    MARK_END,
  ].join('\n');
  await replaceResultsSection(resultsDir, MARK_START, MARK_END, section);
}

await runIfMain(import.meta.url, run, writeResults);
