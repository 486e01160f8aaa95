// Start failures name their cause and exit non-zero; SIGTERM stops the host cleanly with exit 0;
// extension HTTP prefixes are routed with the system-key check.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack } from '../../support/stack.js';
import { badBindingApp, runHostExpectingExit, startHost, tempDir } from './harness.js';

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

test('an unsupported binding type fails start naming the function and the type', async () => {
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
