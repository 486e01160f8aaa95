// Compute emulator: scale-set PUT → N VMs booted, for N = 1, 8, 32 (boot delay 0), through @azure/arm-compute.
// Each VM is the VM workload fixture (test/fixtures/vm-workload.mjs: a Node process that reads its cloud-init
// config and records its boot on its disk), so the figure is the emulator's own cost plus N Node start-ups.
// Baseline, in the same run: the same N processes spawned directly (same script, same environment shape) and
// waited for the same way. Recorded in bench/results/ with the machine it ran on.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  adminVms,
  bootsOf,
  computeClient,
  customDataFor,
  FAST,
  RG,
  scaleSetBody,
  startCompute,
  WORKLOAD,
} from '../test/integration/compute/harness.js';
import { replaceResultsSection, runIfMain } from './results-section.js';

const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const SIZES = [1, 8, 32];
const ROUNDS = 3;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.floor((s.length - 1) / 2)] ?? 0) * 10) / 10;
};

async function until(probe: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** N workload processes spawned directly: what the emulator adds its work to. */
async function baseline(n: number, dir: string): Promise<number> {
  const started = performance.now();
  const children = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const disk = path.join(dir, `vm${i}`);
      const config = path.join(disk, 'etc/batchai/agent.json');
      await mkdir(path.dirname(config), { recursive: true });
      await writeFile(config, JSON.stringify({ scaleSetName: 'baseline' }));
      const child = spawn(process.execPath, [WORKLOAD, '--config', config], {
        env: { ...process.env, BATCHAI_VM_DISK: disk, BATCHAI_VM_NAME: `baseline_${i}` },
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      });
      await new Promise((resolve) => child.once('spawn', resolve));
      return { child, disk };
    }),
  );
  await until(() => children.every((c) => bootsOf(c.disk).length > 0));
  const ms = performance.now() - started;
  await Promise.all(
    children.map(
      (c) =>
        new Promise((resolve) => {
          c.child.once('exit', resolve);
          c.child.kill('SIGTERM');
        }),
    ),
  );
  return ms;
}

export async function run(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-compute-'));
  const compute = await startCompute({ dataDir: path.join(dataDir, 'compute'), coreQuota: 10_000 });
  const client = computeClient(compute.endpoint);
  const rows: Record<string, unknown>[] = [];
  try {
    for (const n of SIZES) {
      const succeeded: number[] = [];
      const booted: number[] = [];
      const base: number[] = [];
      const deleted: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const name = `bench${n}r${round}`;
        const t0 = performance.now();
        await client.virtualMachineScaleSets
          .createOrUpdate(RG, name, scaleSetBody({ name, capacity: n, customData: customDataFor(name) }), FAST)
          .pollUntilDone();
        succeeded.push(performance.now() - t0);
        const vms = await adminVms(compute.endpoint, name);
        await until(() => vms.every((v) => bootsOf(v.disk).length > 0));
        booted.push(performance.now() - t0);
        const t1 = performance.now();
        await client.virtualMachineScaleSets.delete(RG, name, FAST).pollUntilDone();
        deleted.push(performance.now() - t1);
        base.push(await baseline(n, path.join(dataDir, `baseline-${n}-${round}`)));
      }
      rows.push({
        vms: n,
        putToSucceededMs: median(succeeded),
        putToAllBootedMs: median(booted),
        deleteMs: median(deleted),
        baselineAllBootedMs: median(base),
        ratioVsBaseline: Math.round((median(booted) / median(base)) * 100) / 100,
      });
    }
  } finally {
    await compute.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const cpus = os.cpus();
  return {
    benchmark: 'compute-boot',
    date: new Date().toISOString(),
    machine: {
      cpuModel: cpus[0]?.model ?? 'unknown',
      cpuCount: cpus.length,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    workload: {
      client:
        '@azure/arm-compute 24.1 (createOrUpdate + pollUntilDone, 20 ms poll interval; the emulator sends Retry-After: 0)',
      vmProgram: 'test/fixtures/vm-workload.mjs (stand-in for the node agent)',
      bootDelayMs: 0,
      rounds: ROUNDS,
      statistic: 'median of rounds',
    },
    results: rows,
    target: '32 VMs booted ≤ 10 s (issue 7: 32 idle nodes ≤ 10 s end to end)',
  };
}

const MARK_START = '<!-- compute-boot:start -->';
const MARK_END = '<!-- compute-boot:end -->';

export async function writeResults(result: Record<string, unknown>): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'compute-boot.json'), `${JSON.stringify(result, null, 2)}\n`);
  const m = result.machine as { cpuModel: string; cpuCount: number; node: string; loadAverageAtEnd: number[] };
  const rows = result.results as {
    vms: number;
    putToSucceededMs: number;
    putToAllBootedMs: number;
    deleteMs: number;
    baselineAllBootedMs: number;
    ratioVsBaseline: number;
  }[];
  const section = [
    MARK_START,
    '## compute-boot',
    '',
    'Compute emulator: scale-set PUT through @azure/arm-compute → N VM processes booted (boot delay 0).',
    `Machine: ${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, load average at end ${m.loadAverageAtEnd.join(' / ')} (shared machine); ${String(result.date)}.`,
    '',
    '| VMs | PUT → Succeeded | PUT → all booted | baseline: N direct spawns booted | ratio | delete scale set |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.vms} | ${r.putToSucceededMs} ms | ${r.putToAllBootedMs} ms | ${r.baselineAllBootedMs} ms | ${r.ratioVsBaseline} | ${r.deleteMs} ms |`,
    ),
    '',
    'Target: 32 VMs booted well within 10 s. Details and method: `bench/compute-boot.ts`; raw figures: `compute-boot.json`.',
    MARK_END,
  ].join('\n');
  await replaceResultsSection(resultsDir, MARK_START, MARK_END, section);
}

await runIfMain(import.meta.url, run, writeResults);
