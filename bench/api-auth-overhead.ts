// What authentication and authorization cost per API request, on a full local stack: the same GET of a workspace
// with a function key (baseline: key check only, an implicit Owner, no assignment lookup), with the stack owner's
// bearer token (JWT verification + the principal's assignments read from Cosmos), with a Reader's token granted
// at the workspace, and the subscription's workspace listing filtered for that Reader.
// Run: npm run build && node dist/bench/api-auth-overhead.js  (also part of npm run bench)
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { freePortPlan } from '../local/stack/ports.js';
import { startStack } from '../local/stack/stack.js';
import { loadOrCreateSigningKey, mintToken, principalIdOf } from '../local/token-issuer/signing-key.js';
import { replaceResultsSection, runIfMain } from './results-section.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench/results');
const ROUNDS = 3;
const PER_ROUND = 150;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(2));
}

export async function run(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'batchai-bench-auth-'));
  const stack = await startStack({ dataDir, ports: await freePortPlan() });
  try {
    const d = stack.descriptor;
    const base = d.functions!.apiBaseUrl;
    const ws = `/subscriptions/${d.subscriptionId}/resourceGroups/${d.resourceGroup}/providers/Microsoft.BatchAI/workspaces/bench`;
    const q = '?api-version=2018-05-01';
    const call = async (method: string, p: string, headers: Record<string, string>, body?: unknown) => {
      const r = await fetch(`${base}${p}`, {
        method,
        headers: { ...headers, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      await r.arrayBuffer();
      return r.status;
    };
    const owner = { authorization: `Bearer ${d.auth!.token}` };
    if ((await call('PUT', `${ws}${q}`, owner, { location: 'local' })) !== 200) throw new Error('seed failed');
    const grant = await call(
      'PUT',
      `${ws}/providers/Microsoft.Authorization/roleAssignments/6d7c1b2a-0000-4000-8000-00000000be01?api-version=2022-04-01`,
      owner,
      {
        properties: {
          roleDefinitionId: `/subscriptions/${d.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`,
          principalId: principalIdOf('bench-reader'),
        },
      },
    );
    if (grant !== 201) throw new Error(`grant failed: ${grant}`);
    const reader = {
      authorization: `Bearer ${await mintToken(await loadOrCreateSigningKey(dataDir), { issuer: d.auth!.issuer, principal: 'bench-reader' })}`,
    };
    const variants: Record<string, () => Promise<number>> = {
      functionKey: () => call('GET', `${ws}${q}`, { 'x-functions-key': d.functions!.masterKey! }),
      ownerBearer: () => call('GET', `${ws}${q}`, owner),
      readerBearer: () => call('GET', `${ws}${q}`, reader),
      readerFilteredListing: () =>
        call('GET', `/subscriptions/${d.subscriptionId}/providers/Microsoft.BatchAI/workspaces${q}`, reader),
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    for (const v of Object.values(variants)) for (let i = 0; i < 20; i++) await v(); // warm-up (JWKS fetch, JIT)
    // Rounds interleave the variants so that machine load affects them alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, v] of Object.entries(variants)) {
        for (let i = 0; i < PER_ROUND; i++) {
          const t = performance.now();
          const status = await v();
          samples[name]!.push(performance.now() - t);
          if (status !== 200) throw new Error(`${name} answered ${status}`);
        }
      }
    }
    const baselineP50 = percentile(samples.functionKey!, 50);
    const figures = Object.fromEntries(
      Object.entries(samples).map(([name, s]) => [
        name,
        {
          p50: percentile(s, 50),
          p99: percentile(s, 99),
          ratioP50VsFunctionKey: Number((percentile(s, 50) / baselineP50).toFixed(2)),
        },
      ]),
    );
    return {
      date: new Date().toISOString(),
      machine: {
        cpuModel: os.cpus()[0]?.model,
        cpuCount: os.cpus().length,
        node: process.version,
        loadAverageAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))),
      },
      workload: { rounds: ROUNDS, requestsPerRoundPerVariant: PER_ROUND },
      latencyMs: figures,
    };
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const MARK_START = '<!-- api-auth-overhead:start -->';
const MARK_END = '<!-- api-auth-overhead:end -->';

export async function writeResults(result: Record<string, unknown>): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'api-auth-overhead.json'), `${JSON.stringify(result, null, 2)}\n`);
  const l = result.latencyMs as Record<string, { p50: number; p99: number; ratioP50VsFunctionKey: number }>;
  const m = result.machine as { cpuModel: string; cpuCount: number; node: string; loadAverageAtEnd: number[] };
  const row = (label: string, k: string) =>
    `| ${label} | ${l[k]!.p50} / ${l[k]!.p99} ms | ${l[k]!.ratioP50VsFunctionKey} |`;
  const section = [
    MARK_START,
    '## api-auth-overhead',
    '',
    'GET of one workspace through the local Functions host, sequential requests, per credential (full local stack).',
    `Machine: ${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, load average at end ${m.loadAverageAtEnd.join(' / ')} (shared machine); ${String(result.date)}.`,
    '',
    '| request | p50 / p99 | p50 ratio vs function key (baseline) |',
    '|---|---|---|',
    row('function key (baseline: no token, no assignment lookup)', 'functionKey'),
    row("stack owner's bearer token (JWT + assignments query)", 'ownerBearer'),
    row("Reader's bearer token (assignment at the workspace)", 'readerBearer'),
    row("Reader listing the subscription's workspaces (filtered)", 'readerFilteredListing'),
    '',
    'Details and method: `bench/api-auth-overhead.ts`; raw figures: `api-auth-overhead.json`.',
    MARK_END,
  ].join('\n');
  await replaceResultsSection(resultsDir, MARK_START, MARK_END, section);
}

await runIfMain(import.meta.url, run, writeResults);
