// HTTP triggers through the real host process: route templates, methods, query/headers/body, response
// status/headers/cookies, authLevel keys (401 vs 200), the readiness endpoint and blob input bindings.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { blobClient } from '../../support/stack.js';
import { hostOnAzuriteForFile, startHost, waitFor } from './harness.js';

const file = hostOnAzuriteForFile();

const url = (path: string) => `${file.host.baseUrl}${path}`;

test('readiness: GET /admin/host/status needs the master key, loopback or not, then answers {"state":"Running"}', async () => {
  assert.equal((await fetch(url('/admin/host/status'))).status, 401);
  assert.equal((await fetch(url('/admin/host/status'), { headers: { 'x-functions-key': 'wrong' } })).status, 401);
  const functionKey = file.host.keys.functionKeys.default!;
  assert.equal((await fetch(url(`/admin/host/status?code=${functionKey}`))).status, 401);
  const res = await fetch(url('/admin/host/status'), { headers: { 'x-functions-key': file.host.keys.masterKey } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { state: 'Running' });
});

test('route parameters, repeated query parameters and method', async () => {
  const res = await fetch(url('/api/hello/Ada%20L?q=1&q=2'));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { name: 'Ada L', q: '1', all: ['1', '2'], method: 'GET' });
  // Method not in the function's list → no route.
  assert.equal((await fetch(url('/api/hello/Ada'), { method: 'POST' })).status, 404);
});

test('optional parameters and constraints pick the right function', async () => {
  assert.deepEqual(await (await fetch(url('/api/items/42'))).json(), { id: 42, tag: null, method: 'GET' });
  assert.deepEqual(await (await fetch(url('/api/items/42/red'))).json(), { id: 42, tag: 'red', method: 'GET' });
  assert.deepEqual(await (await fetch(url('/api/items/7'), { method: 'DELETE' })).json(), {
    id: 7,
    tag: null,
    method: 'DELETE',
  });
  // {id:int} does not match letters; {name:alpha} does.
  assert.deepEqual(await (await fetch(url('/api/items/abc'))).json(), { byName: 'abc' });
  assert.equal((await fetch(url('/api/items/12ab'))).status, 404);
  assert.equal((await fetch(url('/api/nothing-here'))).status, 404);
  assert.equal((await fetch(url('/not-api/hello/x'))).status, 404);
});

test('a function without a route is served at /api/<function name>', async () => {
  const res = await fetch(url('/api/defaultRoute'));
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'default route');
});

test('request body and headers in; status, headers, cookies and body out', async () => {
  const res = await fetch(url('/api/echo'), {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'hello body',
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('x-custom'), 'yes');
  assert.equal(res.headers.get('x-echo-content-type'), 'text/plain');
  const cookie = res.headers.get('set-cookie') ?? '';
  assert.match(cookie, /^session=abc/);
  assert.match(cookie, /Path=\//);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  assert.equal(await res.text(), 'HELLO BODY');
});

test('a handler that throws answers 500', async () => {
  assert.equal((await fetch(url('/api/boom'))).status, 500);
});

test('authLevel function: 401 without a key; host key, function key or master key via header or code', async () => {
  assert.equal((await fetch(url('/api/secret'))).status, 401);
  assert.equal((await fetch(url('/api/secret?code=wrong'))).status, 401);
  const hostKey = file.host.keys.functionKeys.default!;
  const fnKey = file.host.keys.functions.secret!.default!;
  assert.equal((await fetch(url(`/api/secret?code=${hostKey}`))).status, 200);
  assert.equal((await fetch(url('/api/secret'), { headers: { 'x-functions-key': fnKey } })).status, 200);
  assert.equal((await fetch(url(`/api/secret?code=${file.host.keys.masterKey}`))).status, 200);
  // Another function's key does not open this one.
  const otherKey = file.host.keys.functions.hello!.default!;
  assert.equal((await fetch(url(`/api/secret?code=${otherKey}`))).status, 401);
});

test('authLevel admin: only the master key', async () => {
  assert.equal((await fetch(url('/api/admin-only'))).status, 401);
  assert.equal((await fetch(url(`/api/admin-only?code=${file.host.keys.functionKeys.default}`))).status, 401);
  const res = await fetch(url('/api/admin-only'), { headers: { 'x-functions-key': file.host.keys.masterKey } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { admin: true });
});

test('keys.json is generated once with random keys and kept across restarts', async () => {
  const text = await readFile(join(file.host.dataDir, 'keys.json'), 'utf8');
  const keys = JSON.parse(text) as typeof file.host.keys;
  assert.ok(keys.masterKey.length >= 40);
  assert.notEqual(keys.masterKey, keys.functionKeys.default);
  assert.ok(keys.systemKeys.eventgrid_extension && keys.systemKeys.blobs_extension);
  const second = await startHost({
    dataDir: file.host.dataDir,
    env: { AzureWebJobsStorage: file.stack.descriptor.storage.connectionString },
  });
  try {
    assert.deepEqual(second.keys, keys);
  } finally {
    assert.equal(await second.stop(), 0);
  }
});

test('blob input binding resolves {name} from the route', async () => {
  const container = blobClient(file.stack.descriptor).getContainerClient('inputs');
  await container.createIfNotExists();
  await container.getBlockBlobClient('note.txt').upload('from a blob', 11);
  const res = await fetch(url('/api/blob/note.txt'));
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'from a blob');
  assert.equal((await fetch(url('/api/blob/missing.txt'))).status, 404);
});

test('stdout is JSON lines, including context.log and console output of the app', async () => {
  await fetch(url('/api/hello/Logger'));
  await waitFor('the log line of the invocation', () => file.host.stdout().includes('hello called for Logger'));
  const lines = file.host
    .stdout()
    .split('\n')
    .filter((l) => l !== '');
  const logs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(logs.some((l) => l.msg === 'Host started'));
  assert.ok(logs.every((l) => typeof l.level === 'number' && typeof l.time === 'string'));
  assert.ok(
    logs.some((l) => l.msg === 'hello called for Logger' && l.functionName === 'hello' && l.category === 'user'),
  );
  assert.ok(logs.some((l) => l.msg === 'console output from hello' && l.source === 'console'));
});

test('admin API: GET /admin/functions lists functions with their bindings (master key only)', async () => {
  assert.equal((await fetch(url('/admin/functions'))).status, 401);
  assert.equal((await fetch(url(`/admin/functions?code=${file.host.keys.functionKeys.default}`))).status, 401);
  const res = await fetch(url('/admin/functions'), { headers: { 'x-functions-key': file.host.keys.masterKey } });
  assert.equal(res.status, 200);
  const list = (await res.json()) as {
    name: string;
    invoke_url_template: string | null;
    config: { bindings: { type: string; direction: string; path?: string; source?: string }[] };
  }[];
  const manifest = list.find((f) => f.name === 'onManifest');
  assert.ok(manifest);
  const trigger = manifest.config.bindings.find((b) => b.type === 'blobTrigger');
  assert.equal(trigger?.direction, 'in');
  assert.equal(trigger?.path, 'manifests/{name}');
  assert.equal(trigger?.source, 'EventGrid');
  assert.ok(manifest.config.bindings.some((b) => b.type === 'blob' && b.direction === 'out'));
  assert.equal(list.find((f) => f.name === 'hello')?.invoke_url_template, `${file.host.baseUrl}/api/hello/{name}`);
  const one = await fetch(url(`/admin/functions/secret?code=${file.host.keys.masterKey}`));
  assert.equal(((await one.json()) as { name: string }).name, 'secret');
  assert.equal((await fetch(url(`/admin/functions/nope?code=${file.host.keys.masterKey}`))).status, 404);
});
