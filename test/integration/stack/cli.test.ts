import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { StackDescriptor } from '../../../local/stack/descriptor.js';
import { isPortFree, SERVICE_PORT_OFFSETS } from '../../../local/stack/ports.js';

// `npm start` runs this CLI; these tests run it as a user would, as a separate process.
const cli = fileURLToPath(new URL('../../../local/cli.js', import.meta.url));
const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function run(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Processes whose command line mentions the data dir: the stack's children. */
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
  // One port per offset must be free; try random bases until one fits.
  const count = Object.keys(SERVICE_PORT_OFFSETS).length;
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 11_990); // below Linux's ephemeral ports (32768+)
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isPortFree(base + i)));
    if (free.every(Boolean)) return base;
  }
}

/**
 * Runs `start` until the stack is ready. A parallel test file's stack may take one of our ports between the
 * check and the bind; the CLI then fails naming the port, and we try other ports.
 */
async function startCli(dataDir: string) {
  for (let attempt = 1; ; attempt++) {
    const basePort = await freeBasePort();
    const cliRun = run(['start', '--data-dir', dataDir, '--base-port', String(basePort)]);
    const started = Date.now();
    while (!cliRun.output().includes('press Ctrl-C to stop') && cliRun.child.exitCode === null) {
      assert.ok(Date.now() - started < 90_000, `not ready within 90 s:\n${cliRun.output()}`);
      await sleep(50);
    }
    if (cliRun.output().includes('press Ctrl-C to stop')) return { ...cliRun, basePort };
    await cliRun.exited;
    const clash = /already in use|EADDRINUSE/.test(cliRun.output());
    assert.ok(clash && attempt < 4, `the stack exited early:\n${cliRun.output()}`);
  }
}

test('start prints the endpoints, writes stack.json, and Ctrl-C stops every child', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'batchai-cli-'));
  dirs.push(dataDir);
  const { child, output, exited, basePort } = await startCli(dataDir);
  assert.match(output(), new RegExp(`azurite-blob\\s+http://127\\.0\\.0\\.1:${basePort}/devstoreaccount1`));
  assert.match(output(), new RegExp(`cosmos\\s+https://127\\.0\\.0\\.1:${basePort + 3}/`));
  const descriptor = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8')) as StackDescriptor;
  assert.equal(descriptor.storage.blobEndpoint, `http://127.0.0.1:${basePort}/devstoreaccount1`);
  assert.equal(descriptor.cosmos.endpoint, `https://127.0.0.1:${basePort + 3}/`);
  assert.match(descriptor.storage.connectionString, /QueueEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;/);
  assert.ok(processesUsing(dataDir).length >= 2, 'Azurite and the Cosmos emulator run as children');

  // The bearer token in stack.json works, and `token` mints others (with --role, granting it through the API).
  assert.ok(descriptor.auth?.token, 'stack.json carries a development token');
  const api = `${descriptor.functions!.apiBaseUrl}/subscriptions/${descriptor.subscriptionId}/resourceGroups/${descriptor.resourceGroup}/providers/Microsoft.BatchAI/workspaces`;
  const list = (token: string) =>
    fetch(`${api}?api-version=2018-05-01`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
  assert.equal(await list(descriptor.auth.token), 200);
  const mint = async (args: string[]) => {
    const r = run(['token', '--data-dir', dataDir, ...args]);
    assert.equal(await r.exited, 0, r.output());
    return r.output().trim().split('\n').pop()!;
  };
  const bob = await mint(['--principal', 'bob']);
  assert.equal(await list(bob), 403, 'a principal without a role');
  const alice = await mint(['--principal', 'alice', '--role', 'Reader']);
  assert.equal(await list(alice), 200, 'a Reader of the subscription');
  const write = await fetch(`${api}/nope?api-version=2018-05-01`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: '{"location":"local"}',
  });
  assert.equal(write.status, 403, 'a Reader cannot write');

  child.kill('SIGINT');
  assert.equal(await exited, 0);
  // Children may still be exiting when the supervisor returns: wait for them, up to a generous bound.
  let left = processesUsing(dataDir);
  for (let i = 0; i < 600 && left.length > 0; i++) {
    await sleep(100);
    left = processesUsing(dataDir);
  }
  assert.deepEqual(left, [], 'no orphaned child process');
});

test('children stop by themselves when the stack process is killed with SIGKILL', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'batchai-cli-'));
  dirs.push(dataDir);
  const { child, exited } = await startCli(dataDir);
  child.kill('SIGKILL');
  await exited;
  let left = processesUsing(dataDir);
  for (let i = 0; i < 600 && left.length > 0; i++) {
    await sleep(100);
    left = processesUsing(dataDir);
  }
  assert.deepEqual(left, [], 'children noticed their parent died and exited');
});

test('a port already in use is a clear error naming the port and the option to change it', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'batchai-cli-'));
  dirs.push(dataDir);
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const address = blocker.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    const { output, exited } = run([
      'start',
      '--data-dir',
      dataDir,
      '--base-port',
      String(await freeBasePort()),
      '--cosmos-port',
      String(port),
    ]);
    assert.equal(await exited, 1);
    assert.match(output(), new RegExp(`port ${port} \\(cosmos\\) is already in use.*--cosmos-port or --base-port`));
  } finally {
    blocker.close();
  }
});
