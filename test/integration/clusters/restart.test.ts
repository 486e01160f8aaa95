import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { readDescriptor } from '../../../local/stack/descriptor.js';
import { isPortFree } from '../../../local/stack/ports.js';
import { BatchAiApi } from '../../support/api-client.js';
import { cosmosClient, type TestStack } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { clusterBody, emulatorVms, isAlive, remoteLogins, waitForNodes } from './harness.js';

// The whole stack as a user runs it (the CLI, a separate process), stopped with Ctrl-C and killed with kill -9:
// a steady cluster comes back with the same nodes (same VMs, new agent processes, idle again).

const cli = fileURLToPath(new URL('../../../local/cli.js', import.meta.url));
const dirs: string[] = [];
const running: ChildProcess[] = [];
after(async () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGINT');
  await sleep(3000);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function freeBasePort(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 11_990);
    const free = await Promise.all(Array.from({ length: 7 }, (_, i) => isPortFree(base + i)));
    if (free.every(Boolean)) return base;
  }
}

/** Starts the CLI on these ports and data dir, and waits until it says it is ready. */
async function startCli(dataDir: string, basePort: number) {
  const child = spawn(process.execPath, [cli, 'start', '--data-dir', dataDir, '--base-port', String(basePort)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = Date.now();
  while (!output.includes('press Ctrl-C to stop')) {
    assert.equal(child.exitCode, null, `the stack exited early:\n${output}`);
    assert.ok(Date.now() - started < 120_000, `not ready within 120 s:\n${output}`);
    await sleep(100);
  }
  const descriptor = await readDescriptor(dataDir);
  return { child, exited, descriptor, output: () => output };
}

test('a steady cluster survives Ctrl-C and kill -9 of the whole stack with the same nodes', {
  timeout: 600_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'batchai-restart-'));
  dirs.push(dataDir);
  const basePort = await freeBasePort();
  let run = await startCli(dataDir, basePort);
  let api = new BatchAiApi(run.descriptor);
  const stackLike = () => ({ descriptor: run.descriptor }) as TestStack;

  const ws = api.workspacePath('ws');
  assert.equal((await api.call('PUT', ws, { body: { location: 'local' } })).status, 200);
  const path = `${ws}/clusters/c`;
  const created = await api.call('PUT', path, { body: clusterBody({ manual: { targetNodeCount: 2 } }) });
  assert.equal(created.status, 202, created.text);
  await waitForNodes(api, path, { idleNodeCount: 2, current: 2, steady: true }, 120_000);
  const nodes = (await remoteLogins(api, path)).map((l) => l.nodeId).sort();
  const vmIdsOf = async () =>
    Object.fromEntries(
      (await emulatorVms(stackLike()))
        .filter((v) => nodes.includes(v.name))
        .map((v) => [v.name, (v as unknown as { vmId: string }).vmId]),
    );
  const vmIds = await vmIdsOf();
  assert.equal(Object.keys(vmIds).length, 2);
  // The boots the app knows of each node (its records in Cosmos): a restart must be a new, registered boot.
  const boots = async () => {
    const container = cosmosClient(run.descriptor).database(run.descriptor.cosmos.database).container('nodes');
    const { resources } = await container.items
      .query<{ node?: { instanceId: string; bootId?: string; state: string } }>("SELECT * FROM c WHERE c.kind = 'node'")
      .fetchAll();
    return resources.map((d) => d.node!).filter(Boolean);
  };
  let previousBoots = (await boots()).map((n) => n.bootId);

  for (const how of ['SIGINT', 'SIGKILL'] as const) {
    const pids = (await emulatorVms(stackLike())).map((v) => v.pid);
    assert.ok(pids.every(isAlive), 'every node runs an agent process');
    run.child.kill(how);
    await run.exited;
    await waitFor(`every agent process to end after ${how}`, () => pids.every((p) => !isAlive(p)), 60_000, 100);

    run = await startCli(dataDir, basePort);
    api = new BatchAiApi(run.descriptor);
    await waitFor(
      `the agents to run again after ${how}`,
      async () => {
        const vms = await emulatorVms(stackLike()).catch(() => []);
        return vms.length === 2 && vms.every((v) => isAlive(v.pid) && !pids.includes(v.pid)) && vms;
      },
      120_000,
      200,
    );
    await waitFor(
      `both nodes to register a new boot and be set up again after ${how}`,
      async () => {
        const now = await boots();
        return now.length === 2 && now.every((n) => n.state === 'idle' && !previousBoots.includes(n.bootId)) && now;
      },
      120_000,
      200,
    );
    previousBoots = (await boots()).map((n) => n.bootId);
    await waitForNodes(api, path, { idleNodeCount: 2, current: 2, steady: true }, 120_000);
    assert.deepEqual((await remoteLogins(api, path)).map((l) => l.nodeId).sort(), nodes, `same nodes after ${how}`);
    assert.deepEqual(await vmIdsOf(), vmIds, `same VMs after ${how}`);
  }
  run.child.kill('SIGINT');
  await run.exited;
});
