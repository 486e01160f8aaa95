// Start failures name their cause and exit non-zero; SIGTERM stops the host cleanly with exit 0;
// extension HTTP prefixes are routed with the system-key check.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../../../local/stack/ports.js';
import { processAlive } from '../../support/processes.js';
import { blobClient, startTestStack, type TestStack, UNREACHABLE_STORAGE } from '../../support/stack.js';
import { badBindingApp, fixtureApp, hostMain, runHostExpectingExit, startHost, tempDir, waitFor } from './harness.js';

let stack: TestStack;

before(async () => {
  stack = await startTestStack({ services: ['azurite'] });
});

after(async () => {
  await stack?.dispose();
});

test('an app with a syntax error fails start with a clear message and exit code 1', async () => {
  const dir = await tempDir('bad-syntax');
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', main: 'dist/*.js' }));
  await mkdir(join(dir, 'dist'));
  await writeFile(join(dir, 'dist/index.js'), 'export const ok = 1;\nexport const oops = ;\n');
  const r = await runHostExpectingExit(['--app', dir, '--port', '0', '--data-dir', await tempDir('d'), '--no-durable']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /functions-host: failed to start: Failed to load the app's entry point .*dist\/index\.js: SyntaxError/,
  );
});

test('unsupported trigger and binding types fail start naming each function and type', async () => {
  const r = await runHostExpectingExit([
    '--app',
    badBindingApp,
    '--port',
    '0',
    '--data-dir',
    await tempDir('d'),
    '--no-durable',
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Function "sendToBus": unsupported output binding type "serviceBus"/);
  assert.match(r.stderr, /Function "fromBus": unsupported trigger type "serviceBusTrigger"/);
});

test('a missing entry point and missing arguments are clear start errors', async () => {
  const dir = await tempDir('no-main');
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', main: 'dist/missing.js' }));
  const r = await runHostExpectingExit(['--app', dir, '--port', '0', '--data-dir', await tempDir('d')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /entry point "dist\/missing\.js" .* does not exist/);
  const noArgs = await runHostExpectingExit([]);
  assert.equal(noArgs.code, 1);
  assert.match(noArgs.stderr, /Missing --app/);
});

test('with the durable extension: its webhook prefix needs the durabletask_extension key; SIGTERM exits 0', async () => {
  const host = await startHost({
    durable: true,
    env: { AzureWebJobsStorage: stack.descriptor.storage.connectionString },
  });
  try {
    const key = host.keys.systemKeys.durabletask_extension;
    assert.ok(key, 'keys.json has a durabletask_extension system key');
    const noKey = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances/x`);
    assert.equal(noKey.status, 401);
    const withKey = await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances/x?code=${key}`);
    assert.notEqual(withKey.status, 401);
  } finally {
    assert.equal(await host.stop(), 0);
  }
  assert.ok(host.logs().some((l) => l.msg === 'Host stopped'));
});

test('SIGTERM lets an in-flight invocation finish, then exits 0; new requests are refused meanwhile', async () => {
  const host = await startHost({ env: { AzureWebJobsStorage: stack.descriptor.storage.connectionString } });
  const inFlight = fetch(`${host.baseUrl}/api/slow?ms=2000`);
  await waitFor('the slow invocation to start', () => JSON.stringify(host.logs()).includes('slow started'), 30_000, 20);
  const exit = host.stop();
  const status = await waitFor(
    'the status endpoint to stop answering 200',
    async () => {
      const code = await fetch(`${host.baseUrl}/admin/host/status`, {
        headers: { 'x-functions-key': host.keys.masterKey },
      }).then(
        (r) => r.status,
        () => 0,
      );
      return code === 200 ? undefined : code;
    },
    10_000,
    20,
  );
  assert.ok(status === 503 || status === 0, `status endpoint while stopping: ${status}`);
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { sleptMs: 2000 });
  assert.equal(await exit, 0);
});

test('host.json functionTimeout fails an invocation that runs too long (500 for HTTP)', async () => {
  const host = await startHost({ env: { AzureWebJobsStorage: stack.descriptor.storage.connectionString } });
  try {
    const started = Date.now();
    const res = await fetch(`${host.baseUrl}/api/slow?ms=8000`);
    assert.equal(res.status, 500);
    assert.ok(Date.now() - started < 7900, 'cut off by functionTimeout, not by the handler finishing');
  } finally {
    await host.stop();
  }
});

test('timer: an occurrence missed while the host was down runs at start with isPastDue true', async () => {
  const dataDir = await tempDir('timers');
  const past = new Date(Date.now() - 3600_000).toISOString();
  await writeFile(
    join(dataDir, 'timers.json'),
    JSON.stringify({ startupTimer: { last: '', next: past, lastUpdated: past } }),
  );
  const timers = blobClient(stack.descriptor).getContainerClient('timers');
  await timers.deleteIfExists();
  const host = await startHost({ dataDir, env: { AzureWebJobsStorage: stack.descriptor.storage.connectionString } });
  try {
    const fired = await waitFor('timers/startup.json', async () => {
      try {
        return JSON.parse((await timers.getBlobClient('startup.json').downloadToBuffer()).toString('utf8')) as {
          isPastDue: boolean;
        };
      } catch {
        return undefined;
      }
    });
    assert.equal(fired.isPastDue, true);
  } finally {
    await host.stop();
  }
});

test('the host exits by itself when its supervisor is killed with SIGKILL', async () => {
  // A stand-in supervisor: spawns the host with an IPC channel and piped output, like local/stack does.
  const dataDir = await tempDir('orphan');
  const port = await freePort();
  const script = `
    const { spawn } = require('node:child_process');
    const c = spawn(process.execPath, ${JSON.stringify([hostMain, '--app', fixtureApp, '--port', String(port), '--data-dir', dataDir, '--no-durable'])},
      { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    c.stdout.on('data', (d) => { if (String(d).includes('Host started')) console.log('HOST_PID=' + c.pid); });
    setInterval(() => {}, 1000);`;
  // Storage that refuses connections: the host keeps logging listener errors, which is what used to wedge
  // pino's synchronous stdout writer once the supervisor's end of the pipe was gone.
  const parent = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, AzureWebJobsStorage: UNREACHABLE_STORAGE },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  parent.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  let hostPid: number;
  try {
    hostPid = await waitFor(
      'the host to start',
      () => {
        const m = /HOST_PID=(\d+)/.exec(out);
        return m ? Number(m[1]) : undefined;
      },
      60_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
  } finally {
    // Never leave the stand-in supervisor running: its IPC channel would keep this test process alive.
    parent.kill('SIGKILL');
  }
  try {
    await waitFor('the orphaned host to exit', () => !processAlive(hostPid), 10_000, 50);
  } finally {
    if (processAlive(hostPid)) process.kill(hostPid, 'SIGKILL');
  }
});
