import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { QueueServiceClient } from '@azure/storage-queue';
import type { StackDescriptor } from '../../../local/stack/descriptor.js';
import { isPortFree } from '../../../local/stack/ports.js';
import { BatchAiApi } from '../../support/api-client.js';
import { waitFor } from '../../support/wait-for.js';

// Issue 9, measured as an operator's crash would be: `kill -9` of the whole stack (every process at once,
// no chance to flush) during a burst of acknowledged queue submissions. Before, 71 of 102 were lost
// (Azurite saved its queue every 5 s) and 16 stayed `creating` for good (no orchestration). Now every
// acknowledged submission must become a job, and every job must be provisioned: messages still queued are
// processed after the restart, and jobs stored without a running lifecycle are driven on by the reconciler.

const cli = fileURLToPath(new URL('../../../local/cli.js', import.meta.url));
const SUBMISSIONS = 60;
const dirs: string[] = [];
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGINT');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function processesUsing(dataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dataDir)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

async function freeBasePort(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 11_990);
    const free = await Promise.all(Array.from({ length: 7 }, (_, i) => isPortFree(base + i)));
    if (free.every(Boolean)) return base;
  }
}

/** `start` in its own process group (so one signal reaches the stack and all its children), until ready. */
async function startStackProcess(dataDir: string) {
  for (let attempt = 1; ; attempt++) {
    const child = spawn(
      process.execPath,
      [cli, 'start', '--data-dir', dataDir, '--base-port', String(await freeBasePort())],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        // Reconcile every 2 s instead of every 30 s, so the test does not wait for the default schedule.
        env: { ...process.env, RECONCILE_SCHEDULE: '*/2 * * * * *' },
      },
    );
    children.push(child);
    let output = '';
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitFor(
      'the stack to be ready',
      () => output.includes('press Ctrl-C to stop') || child.exitCode !== null,
      120_000,
      50,
    );
    if (output.includes('press Ctrl-C to stop')) {
      const descriptor = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8')) as StackDescriptor;
      return { child, exited, descriptor, output: () => output };
    }
    await exited;
    assert.ok(/already in use|EADDRINUSE/.test(output) && attempt < 4, `the stack exited early:\n${output}`);
  }
}

test('kill -9 of the whole stack during a burst of queue submissions loses no job and leaves none creating', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'batchai-kill9-'));
  dirs.push(dataDir);
  const first = await startStackProcess(dataDir);
  const api = new BatchAiApi(first.descriptor);
  const clusterId = await api.seedWorkspace('ws');
  const queue = QueueServiceClient.fromConnectionString(first.descriptor.storage.connectionString).getQueueClient(
    'job-submissions',
  );
  await queue.createIfNotExists();
  const names = Array.from({ length: SUBMISSIONS }, (_, i) => `burst-${i}`);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const message = {
          id: api.jobPath('ws', 'exp', name),
          properties: {
            cluster: { id: clusterId },
            nodeCount: 1,
            stdOutErrPathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/out',
            customToolkitSettings: { commandLine: 'echo hi' },
          },
        };
        await queue.sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'));
      }
    }),
  );

  // Every submission is acknowledged: now the whole stack dies at once.
  process.kill(-first.child.pid!, 'SIGKILL');
  await first.exited;
  await waitFor('every process of the stack to be gone', () => processesUsing(dataDir).length === 0, 30_000, 50);

  const second = await startStackProcess(dataDir);
  const api2 = new BatchAiApi(second.descriptor);
  const states = async () => {
    const byName = new Map<string, string>();
    for (const name of names) {
      const r = await api2.call<{ properties: { provisioningState: string } }>('GET', api2.jobPath('ws', 'exp', name));
      byName.set(name, r.status === 200 ? r.body.properties.provisioningState : `HTTP ${r.status}`);
    }
    return byName;
  };
  let last = new Map<string, string>();
  try {
    await waitFor(
      'every submitted job to exist and be provisioned',
      async () => {
        last = await states();
        return [...last.values()].every((s) => s === 'succeeded');
      },
      // Messages leased by the killed host reappear after their 30 s lease; stuck jobs are reconciled once
      // 30 s old. Generous on a loaded machine.
      240_000,
      1000,
    );
  } catch (err) {
    const counts: Record<string, number> = {};
    for (const s of last.values()) counts[s] = (counts[s] ?? 0) + 1;
    throw new Error(`${(err as Error).message}; states: ${JSON.stringify(counts)}\n${second.output().slice(-4000)}`);
  }
  second.child.kill('SIGINT');
  await second.exited;
});
