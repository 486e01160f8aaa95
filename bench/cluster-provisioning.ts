// Benchmark: cluster PUT → N idle nodes, for N = 1, 8, 32 (issue 7 target: 32 idle nodes ≤ 10 s on this 2-core
// machine; Azure VMSS reported P50 ≈ 526 s for 1,000 VMs).
//
// Measured (one process drives a full local stack started in-process on free ports: Azurite, the Cosmos emulator,
// the compute emulator with boot delay 0, the Functions host with its Durable backend, Event Grid): for each N, a
// PUT of a dedicated STANDARD_D1_V2 cluster with N nodes through the public API, then GET of the cluster every
// 25 ms until nodeStateCounts.idleNodeCount = N (every node's agent registered, was sent its setup and reported it
// done). Also recorded: when the PUT's operation completed (the cluster first steady). The cluster is deleted (and
// its deletion waited for) before the next N.
// Baseline (same run, same machine): N bare Node processes spawned at once, timed until each has printed a line,
// i.e. the floor cost of starting N Node processes here, which every agent pays.

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { freePortPlan } from '../local/stack/ports.js';
import { startStack } from '../local/stack/stack.js';
import { machineInfo } from './bench-support.js';
import { replaceResultsSection, runIfMain } from './results-section.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench/results');
const SIZES = (process.env.BENCH_SIZES ?? '1,8,32').split(',').map(Number);
const TARGET_S = 10;
const MARK_START = '<!-- cluster-provisioning:start -->';
const MARK_END = '<!-- cluster-provisioning:end -->';

// biome-ignore lint/suspicious/noExplicitAny: ARM response bodies, read field by field below
type Json = Record<string, any>;

interface Round {
  nodes: number;
  putToIdleMs: number;
  putToOperationDoneMs: number;
  baselineMs: number;
  ratioVsBaseline: number;
}

async function bareNodeProcesses(n: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, ['-e', 'process.stdout.write("ready\\n")'], {
            stdio: ['ignore', 'pipe', 'ignore'],
          });
          child.stdout.once('data', () => resolve());
          child.once('error', reject);
        }),
    ),
  );
  return performance.now() - started;
}

export async function run(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-cluster-'));
  const stack = await startStack({ dataDir, ports: await freePortPlan(), bootDelayMs: 0, coreQuota: 1000 });
  const d = stack.descriptor;
  const base = d.functions!.apiBaseUrl;
  const key = d.functions!.masterKey ?? '';
  const ws = `/subscriptions/${d.subscriptionId}/resourceGroups/${d.resourceGroup}/providers/Microsoft.BatchAI/workspaces/bench`;
  let resets = 0;
  const call = async (method: string, pathOrUrl: string, body?: unknown) => {
    const url = new URL(pathOrUrl.startsWith('http') ? pathOrUrl : `${base}${pathOrUrl}`);
    if (!url.searchParams.has('api-version')) url.searchParams.set('api-version', '2018-05-01');
    const send = () =>
      fetch(url, {
        method,
        headers: { 'x-functions-key': key, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    // A reused keep-alive connection the host had just closed: send once more (every call here is idempotent).
    const r = await send().catch(async (err: unknown) => {
      resets += 1;
      if (resets > 20) throw err;
      return send();
    });
    const text = await r.text();
    return { status: r.status, headers: r.headers, body: text ? (JSON.parse(text) as Json) : ({} as Json) };
  };
  const until = async (what: string, probe: () => Promise<boolean>, timeoutMs = 180_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const rounds: Round[] = [];
  try {
    await call('PUT', ws, { location: 'local' });
    for (const n of SIZES) {
      const path = `${ws}/clusters/c${n}`;
      const started = performance.now();
      const put = await call('PUT', path, {
        properties: {
          vmSize: 'STANDARD_D1_V2',
          scaleSettings: { manual: { targetNodeCount: n } },
          userAccountSettings: { adminUserName: 'bench', adminUserPassword: 'bench-Pa55word' },
        },
      });
      if (put.status !== 202) throw new Error(`PUT cluster: ${put.status} ${JSON.stringify(put.body)}`);
      const operation = put.headers.get('azure-asyncoperation')!;
      let operationDone: number | undefined;
      await until(`${n} idle nodes`, async () => {
        if (operationDone === undefined && (await call('GET', operation)).body['status'] === 'Succeeded') {
          operationDone = performance.now() - started;
        }
        const cluster = await call('GET', path);
        return cluster.body['properties']?.nodeStateCounts?.idleNodeCount === n;
      });
      const putToIdleMs = performance.now() - started;
      await until('the create operation', async () => (await call('GET', operation)).body['status'] === 'Succeeded');
      operationDone ??= performance.now() - started;
      const removed = await call('DELETE', path);
      const location = removed.headers.get('location');
      if (location) await until(`deletion of ${n} nodes`, async () => (await call('GET', location)).status !== 202);
      const baselineMs = await bareNodeProcesses(n);
      rounds.push({
        nodes: n,
        putToIdleMs: Math.round(putToIdleMs),
        putToOperationDoneMs: Math.round(operationDone),
        baselineMs: Math.round(baselineMs),
        ratioVsBaseline: Math.round((putToIdleMs / baselineMs) * 100) / 100,
      });
    }
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return {
    benchmark: 'cluster-provisioning',
    date: new Date().toISOString(),
    machine: machineInfo({ platform: true }),
    workload: { vmSize: 'STANDARD_D1_V2', priority: 'dedicated', bootDelayMs: 0, pollIntervalMs: 25 },
    connectionResetsRetried: resets,
    rounds,
    targetSeconds: { nodes: 32, seconds: TARGET_S },
  };
}

export async function writeResults(result: Record<string, unknown>): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'cluster-provisioning.json'), `${JSON.stringify(result, null, 2)}\n`);
  const m = result['machine'] as { cpuModel: string; cpuCount: number; node: string; loadAverageAtEnd: number[] };
  const rounds = result['rounds'] as Round[];
  const section = [
    MARK_START,
    '## cluster-provisioning',
    '',
    'Cluster PUT → N idle nodes through the public API on the full local stack (compute emulator boot delay 0; every node a real agent process that registers, is sent its setup and reports it done).',
    `Machine: ${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, load average at end ${m.loadAverageAtEnd.join(' / ')} (shared machine); ${String(result['date'])}.`,
    '',
    '| nodes | PUT → all idle | PUT → operation Succeeded | baseline: N bare Node processes started | ratio vs baseline | target |',
    '|---|---|---|---|---|---|',
    ...rounds.map(
      (r) =>
        `| ${r.nodes} | ${(r.putToIdleMs / 1000).toFixed(2)} s | ${(r.putToOperationDoneMs / 1000).toFixed(2)} s | ${(r.baselineMs / 1000).toFixed(2)} s | ${r.ratioVsBaseline} | ${r.nodes === 32 ? `≤ ${TARGET_S} s` : ''} |`,
    ),
    '',
    'Details and method: `bench/cluster-provisioning.ts`; raw figures: `cluster-provisioning.json`.',
    MARK_END,
  ].join('\n');
  await replaceResultsSection(resultsDir, MARK_START, MARK_END, section);
}

await runIfMain(import.meta.url, run, writeResults);
