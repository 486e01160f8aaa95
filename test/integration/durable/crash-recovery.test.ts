// Crash recovery: the host runs as a child process (dist/local/functions-host/main.js) and is killed with
// SIGKILL at several points (activities in flight, between episodes, timers pending), then restarted on the
// same data dir. Every orchestration must finish with exactly the output of an uninterrupted run, every
// activity's side effect must show at least once, and no orchestration step may be scheduled twice.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../local/stack/ports.js';
import { durableApp, startDurableHost, tempDir, waitFor, waitForFinal } from './harness.js';

const hostMain = fileURLToPath(new URL('../../../local/functions-host/main.js', import.meta.url));

interface Workload {
  file: string;
  steps: number;
  delayMs: number;
  timerMs: number;
  withChild?: boolean;
}

function expectedOutput(id: string, steps: number, withChild = false): string[] {
  const out = [...Array.from({ length: steps }, (_, i) => `${id}-s${i}`), `${id}-f0`, `${id}-f1`, `${id}-f2`];
  if (withChild) out.push('Hello Tokyo!|Hello Seattle!|Hello London!');
  return out;
}

class HostChild {
  child: ChildProcess | undefined;
  stderr = '';
  constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The host's keys (written on its first start): the status endpoint needs the master key, webhooks a system key. */
  private keys(): { masterKey: string; systemKeys: Record<string, string> } {
    return JSON.parse(readFileSync(join(this.dataDir, 'keys.json'), 'utf8')) as {
      masterKey: string;
      systemKeys: Record<string, string>;
    };
  }

  /** A Durable management URL on the public port (the keyless rpc prefix is not served there). */
  webhook(path: string): string {
    const sep = path.includes('?') ? '&' : '?';
    return `${this.base}/runtime/webhooks/durabletask/${path}${sep}code=${encodeURIComponent(this.keys().systemKeys.durabletask_extension!)}`;
  }

  async start(): Promise<void> {
    this.stderr = '';
    const child = spawn(
      process.execPath,
      [hostMain, '--app', durableApp, '--port', String(this.port), '--data-dir', this.dataDir],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    this.child = child;
    await waitFor(
      'host ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`host exited ${child.exitCode}: ${this.stderr}`);
        try {
          if (!existsSync(join(this.dataDir, 'keys.json'))) return false;
          const r = await fetch(`${this.base}/admin/host/status`, {
            headers: { 'x-functions-key': this.keys().masterKey },
          });
          await r.arrayBuffer();
          return r.status === 200;
        } catch {
          return false;
        }
      },
      20_000,
      20,
    );
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
}

async function status(host: HostChild, id: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(host.webhook(`instances/${id}?showHistory=true`));
  const body = (await r.json()) as Record<string, unknown>;
  // The public API names the history `historyEvents` (the rpc endpoint, `history`).
  return { status: r.status, body: { ...body, history: body.historyEvents } };
}

function sideEffects(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(file)) return counts;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line) counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return counts;
}

/** Distinct CrashWorkload steps done so far. */
function crashSteps(file: string): number {
  return [...sideEffects(file).keys()].filter((k) => k.startsWith('crash-')).length;
}

describe('durable crash recovery (kill -9 of the host process)', () => {
  const hosts: HostChild[] = [];
  after(async () => {
    for (const h of hosts) await h.kill9();
  });

  it('an uninterrupted run gives the reference output', async () => {
    const h = await startDurableHost();
    try {
      const dir = await tempDir('ref');
      const input: Workload = { file: join(dir, 'steps.log'), steps: 5, delayMs: 5, timerMs: 50 };
      const id = await h.client.startNew('CrashWorkload', { instanceId: 'ref-1', input });
      const s = await waitForFinal(h.client, id);
      assert.deepEqual(s.output, expectedOutput('ref-1', 5));
      const effects = sideEffects(input.file);
      assert.equal(effects.size, 8);
      assert.ok([...effects.values()].every((n) => n === 1));
    } finally {
      await h.stop();
    }
  });

  it('completes every orchestration exactly once across repeated SIGKILLs', async (t) => {
    const dataDir = await tempDir('crash');
    const port = await freePort();
    const host = new HostChild(port, dataDir);
    hosts.push(host);
    await host.start();

    const file = join(dataDir, 'steps.log');
    const steps = 6;
    const ids = Array.from({ length: 12 }, (_, i) => `crash-${i}`);
    for (const [i, id] of ids.entries()) {
      const input: Workload = {
        file,
        steps,
        delayMs: 40 + (i % 3) * 10,
        timerMs: i % 2 === 0 ? 400 : 0,
        withChild: i % 3 === 0,
      };
      const r = await fetch(host.webhook(`orchestrators/CrashWorkload/${id}`), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(input),
      });
      assert.equal(r.status, 202);
      await r.arrayBuffer();
    }

    const counters = ['counter-0', 'counter-1'];
    const generations = 25;
    for (const id of counters) {
      const r = await fetch(host.webhook(`orchestrators/CrashCounter/${id}`), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ file, n: 0, limit: generations, delayMs: 15 }),
      });
      assert.equal(r.status, 202);
      await r.arrayBuffer();
    }

    // Kill points, chosen by progress (distinct side effects seen so far): early (activities in flight), while
    // crash-0 waits on its durable timer (after s1, before s2), mid-way, and near the end.
    const total = ids.length * (steps + 3);
    const killPoints: (() => boolean)[] = [
      () => crashSteps(file) >= 10,
      () => {
        const e = sideEffects(file);
        return e.has('crash-0:s1') || e.has('crash-0:s2');
      },
      () => crashSteps(file) >= Math.floor(total * 0.5),
      () => crashSteps(file) >= Math.floor(total * 0.65),
    ];
    let kills = 0;
    const linesAtKill: number[] = [];
    for (const point of killPoints) {
      await waitFor('kill point', point, 60_000, 20);
      await host.kill9();
      kills++;
      linesAtKill.push(crashSteps(file));
      await host.start();
    }

    const finals = new Map<string, Record<string, unknown>>();
    await waitFor(
      'all orchestrations to finish after the crashes',
      async () => {
        for (const id of ids) {
          if (finals.has(id)) continue;
          const s = await status(host, id);
          if (s.status === 200 || s.status === 400) finals.set(id, s.body);
        }
        return finals.size === ids.length;
      },
      60_000,
      50,
    );
    const counterFinals = new Map<string, Record<string, unknown>>();
    await waitFor(
      'the continueAsNew loops to finish',
      async () => {
        for (const id of counters) {
          if (counterFinals.has(id)) continue;
          const s = await status(host, id);
          if (s.status === 200 || s.status === 400) counterFinals.set(id, s.body);
        }
        return counterFinals.size === counters.length;
      },
      60_000,
      50,
    );
    await host.stop();

    const effects = sideEffects(file);
    let counterDuplicates = 0;
    for (const id of counters) {
      const body = counterFinals.get(id)!;
      assert.equal(body.runtimeStatus, 'Completed');
      assert.equal(body.output, generations);
      for (let g = 0; g < generations; g++) {
        const n = effects.get(`${id}:g${g}`) ?? 0;
        assert.ok(n >= 1, `${id}:g${g} ran`);
        counterDuplicates += n - 1;
      }
      // Only the last generation's history is kept.
      const history = body.history as { EventType: string }[];
      assert.equal(history.filter((e) => e.EventType === 'ExecutionStarted').length, 1);
      assert.equal(history.filter((e) => e.EventType === 'TaskScheduled').length, 0);
    }
    let duplicates = 0;
    for (const id of ids) {
      const body = finals.get(id)!;
      assert.equal(body.runtimeStatus, 'Completed', `${id}: ${JSON.stringify(body.output)}`);
      const index = Number(id.split('-')[1]);
      assert.deepEqual(body.output, expectedOutput(id, steps, index % 3 === 0), `${id} output`);
      // Each step's side effect happened at least once (activities are at-least-once)...
      for (const step of [...Array.from({ length: steps }, (_, i) => `s${i}`), 'f0', 'f1', 'f2']) {
        const n = effects.get(`${id}:${step}`) ?? 0;
        assert.ok(n >= 1, `${id}:${step} ran`);
        duplicates += n - 1;
      }
      // ...and no orchestration step was scheduled or completed twice.
      const history = body.history as { EventType: string; Input?: string; Name?: string }[];
      const scheduled = history.filter((e) => e.EventType === 'TaskScheduled');
      assert.equal(scheduled.length, steps + 3, `${id}: ${scheduled.length} TaskScheduled`);
      assert.equal(new Set(scheduled.map((e) => e.Input)).size, steps + 3, `${id}: each step scheduled once`);
      assert.equal(history.filter((e) => e.EventType === 'TaskCompleted').length, steps + 3);
      const timers = history.filter((e) => e.EventType === 'TimerFired').length;
      assert.equal(timers, index % 2 === 0 ? 1 : 0, `${id} timers`);
      const children = history.filter((e) => e.EventType === 'SubOrchestrationInstanceCreated').length;
      assert.equal(children, index % 3 === 0 ? 1 : 0, `${id} sub-orchestrations`);
    }
    t.diagnostic(`distinct steps done at each kill: ${linesAtKill.join(', ')}; duplicated: ${duplicates}`);
    // The kills really hit unfinished work.
    assert.ok(linesAtKill[linesAtKill.length - 1]! < ids.length * (steps + 3), 'last kill before the end');
    // Re-executions are bounded by the activities that can be in flight at a kill (host.json: 8).
    assert.ok(duplicates + counterDuplicates <= kills * 8, `duplicated side effects ${duplicates + counterDuplicates}`);
  });
});
