import assert from 'node:assert/strict';
import { lstat, readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BatchAiApi } from '../../support/api-client.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';

// What an attacker on loopback tries: forged Host headers, odd operation ids, lying Content-Lengths, huge bodies,
// huge arrays, deep nesting, path traversal, floods; and what they could read on disk.

let stack: TestStack;
let api: BatchAiApi;
let clusterId: string;
let port: number;

before(async () => {
  stack = await startTestStack();
  api = new BatchAiApi(stack.descriptor);
  clusterId = await withServiceOutput(stack, () => api.seedWorkspace('ws'));
  port = Number(new URL(api.base).port);
});
after(() => stack?.dispose());

const t = (name: string, body: () => Promise<void>) => test(name, () => withServiceOutput(stack, body));

const job = (extra: Record<string, unknown> = {}) => ({
  properties: {
    cluster: { id: clusterId },
    nodeCount: 1,
    stdOutErrPathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/logs',
    customToolkitSettings: { commandLine: 'python train.py' },
    ...extra,
  },
});

/** A request through node:http, which (unlike fetch) sends the Host header we choose. */
function rawHttp(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

t(
  'a forged Host header changes no link: Location, Azure-AsyncOperation, nextLink use the public base URL',
  async () => {
    const path = `/api${api.jobPath('ws', 'exp', 'host-header')}?api-version=2018-05-01`;
    const put = await rawHttp(
      'PUT',
      path,
      { host: 'evil.example', 'x-functions-key': api.key, 'content-type': 'application/json' },
      JSON.stringify(job()),
    );
    assert.equal(put.status, 202, put.text);
    for (const header of ['location', 'azure-asyncoperation']) {
      const link = String(put.headers[header]);
      assert.ok(link.startsWith(`${api.base}/subscriptions/`), `${header}: ${link}`);
    }
    await api.call('PUT', `${api.workspacePath('ws')}/experiments/second`, { body: {} });
    const list = await rawHttp(
      'GET',
      `/api${api.workspacePath('ws')}/experiments?api-version=2018-05-01&maxresults=1`,
      { host: 'evil.example:443', 'x-functions-key': api.key },
    );
    assert.equal(list.status, 200, list.text);
    const nextLink = (JSON.parse(list.text) as { nextLink?: string }).nextLink;
    assert.ok(nextLink?.startsWith(`${api.base}/subscriptions/`), `nextLink: ${nextLink}`);
    const page2 = await api.call<{ value: unknown[] }>('GET', nextLink!);
    assert.equal(page2.status, 200, page2.text);
    assert.equal(page2.body.value.length, 1);
  },
);

t('operation ids with /, #, ? or .. are a 404 or 400, never a 500', async () => {
  const base = `/subscriptions/${api.sub}/providers/Microsoft.BatchAI/locations/${stack.descriptor.location}`;
  for (const id of ['a%2Fb', 'a%23b', '%23', 'a%3Fb', '..', '%2e%2e', 'x'.repeat(300), 'a%5Cb', '%00']) {
    for (const kind of ['operationresults', 'operationStatuses']) {
      const r = await api.call('GET', `${base}/${kind}/${id}`);
      assert.ok(r.status === 404 || r.status === 400, `${kind}/${id}: ${r.status} ${r.text}`);
      // Ids with an encoded '/' match no route (the host's empty 404); those that reach the API get an ARM error.
      if (r.text !== '') {
        const code = (r.body as { error?: { code?: string } } | undefined)?.error?.code;
        assert.equal(typeof code, 'string', `${kind}/${id}: ${r.text}`);
      }
    }
  }
});

t('a Content-Length larger than the body gets a clean 400, not a hang', async () => {
  const path = `/api${api.jobPath('ws', 'exp', 'short-body')}?api-version=2018-05-01`;
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (c) => {
      text += c.toString('utf8');
    });
    socket.on('end', () => resolve(text));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.write(
      `PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-functions-key: ${api.key}\r\ncontent-type: application/json\r\n` +
        'content-length: 1000\r\n\r\n{"properties":',
    );
    // The socket stays open: the server must give up on the missing bytes by itself.
  });
  assert.match(answer, /^HTTP\/1\.1 400 /, answer);
  assert.match(answer, /"code":"IncompleteRequestBody"/, answer);
});

t('a 101 MB body is a 413 with an error body, not a reset connection', async () => {
  const body = Buffer.alloc(101 * 1024 * 1024, 0x20);
  const r = await fetch(`${api.base}${api.jobPath('ws', 'exp', 'huge')}?api-version=2018-05-01`, {
    method: 'PUT',
    headers: { 'x-functions-key': api.key, 'content-type': 'application/json' },
    body,
  });
  assert.equal(r.status, 413);
  const error = ((await r.json()) as { error: { code: string } }).error;
  assert.equal(error.code, 'RequestEntityTooLarge');
});

t('a job with 200,000 environment variables is refused at once, and the experiment stays listable', async () => {
  const variables = Array.from({ length: 200_000 }, (_, i) => ({ name: `V${i}`, value: 'x' }));
  const big = await api.call('PUT', api.jobPath('ws', 'exp', 'env-flood'), {
    body: job({ environmentVariables: variables }),
  });
  assert.equal(big.status, 413, big.text.slice(0, 300));
  assert.equal((big.body as { error: { code: string } }).error.code, 'RequestEntityTooLarge');
  // Under the size limit but over the item limit: a 400 naming the array.
  const many = await api.call('PUT', api.jobPath('ws', 'exp', 'env-many'), {
    body: job({ environmentVariables: variables.slice(0, 5_000) }),
  });
  assert.equal(many.status, 400, many.text.slice(0, 300));
  assert.match((many.body as { error: { message: string } }).error.message, /environmentVariables/);
  // A long string and deep nesting are refused the same way.
  const long = await api.call('PUT', api.jobPath('ws', 'exp', 'long'), {
    body: job({ customToolkitSettings: { commandLine: 'x'.repeat(40_000) } }),
  });
  assert.equal(long.status, 400, long.text.slice(0, 300));
  const deep = await api.call('PUT', api.jobPath('ws', 'exp', 'deep'), {
    rawBody: `${'{"a":'.repeat(6_000)}1${'}'.repeat(6_000)}`,
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(deep.status, 400, deep.text.slice(0, 300));
  const list = await api.call<{ value: unknown[] }>('GET', `${api.workspacePath('ws')}/experiments/exp/jobs`);
  assert.equal(list.status, 200, list.text.slice(0, 300));
});

t('output-file browsing refuses path traversal in every spelling', async () => {
  const path = api.jobPath('ws', 'exp', 'outputs');
  const put = await api.call('PUT', path, {
    body: job({ outputDirectories: [{ id: 'MODEL', pathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/out' }] }),
  });
  assert.ok(put.status === 202 || put.status === 200, put.text);
  const list = (directory: string) =>
    api.call('POST', `${path}/listOutputFiles?outputdirectoryid=MODEL&directory=${encodeURIComponent(directory)}`);
  const ok = await list('.');
  assert.equal(ok.status, 200, ok.text);
  for (const directory of [
    '..',
    '../..',
    'a/../../b',
    '/etc',
    '\\windows',
    'C:\\x',
    '..\\..',
    '%2e%2e',
    '%2e%2e%2f%2e%2e',
    '%252e%252e',
    'a/%2E%2E/%2E%2E',
    '~/x',
  ]) {
    const r = await list(directory);
    assert.equal(r.status, 400, `${directory}: ${r.status} ${r.text}`);
    assert.equal((r.body as { error: { target?: string } }).error.target, 'directory', directory);
  }
});

t('mount paths and output path suffixes that climb out of their root are refused', async () => {
  for (const relativeMountPath of ['../x', '/abs', '..\\x', '%2e%2e/x', 'a/%252e%252e/b']) {
    const r = await api.call('PUT', api.jobPath('ws', 'exp', 'mount'), {
      body: job({
        mountVolumes: {
          azureFileShares: [
            {
              accountName: 'acct',
              azureFileUrl: 'https://acct.file.core.windows.net/share',
              credentials: { accountKey: 'k' },
              relativeMountPath,
            },
          ],
        },
      }),
    });
    assert.equal(r.status, 400, `${relativeMountPath}: ${r.text}`);
  }
  const suffix = await api.call('PUT', api.jobPath('ws', 'exp', 'suffix'), {
    body: job({
      outputDirectories: [{ id: 'OUT', pathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/o', pathSuffix: '../../etc' }],
    }),
  });
  assert.equal(suffix.status, 400, suffix.text);
});

t('names and ids that are not Batch AI names are a 400 naming the problem', async () => {
  for (const name of ['a b', 'x'.repeat(65), 'semi;colon', '%2e%2e', 'dot.dot', 'a%2Fb']) {
    const r = await api.call('PUT', `${api.workspacePath('ws')}/experiments/${name}`, { body: {} });
    assert.ok(r.status === 400 || r.status === 404, `${name}: ${r.status} ${r.text}`);
  }
  const bad = await api.call('PUT', api.jobPath('ws', 'exp', 'bad-cluster'), {
    body: job({ cluster: { id: '/subscriptions/x/../../etc' } }),
  });
  assert.equal(bad.status, 400, bad.text);
});

t('a flood of submissions from one principal gets 429 with Retry-After; reads are still served', async () => {
  const flood = await Promise.all(
    Array.from({ length: 150 }, (_, i) =>
      api.call('PUT', api.jobPath('ws', 'flood', `j${i}`), { body: { properties: { nodeCount: 0 } } }),
    ),
  );
  const limited = flood.filter((r) => r.status === 429);
  assert.ok(limited.length > 0, `no 429 among ${flood.map((r) => r.status).join(',')}`);
  const first = limited[0]!;
  assert.ok(Number(first.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
  assert.equal((first.body as { error: { code: string } }).error.code, 'TooManyRequests');
  for (const r of flood) assert.ok(r.status === 429 || r.status === 400, `${r.status}: ${r.text}`);
  // Reads are not submissions: still served.
  assert.equal((await api.call('GET', api.workspacePath('ws'))).status, 200);
});

t('the data dir is owner-only: 0700 directories, 0600 files, the Event Grid subscriptions included', async () => {
  // The Event Grid subscriptions are written once the app's functions are known: wait for the file.
  await waitFor('the event grid subscriptions', async () =>
    (await lstat(join(stack.dataDir, 'eventgrid', 'subscriptions.json')).catch(() => undefined)) ? true : undefined,
  );
  const wide: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const info = await lstat(path);
      if (info.isSymbolicLink()) continue;
      if ((info.mode & 0o077) !== 0) wide.push(`${path} ${(info.mode & 0o777).toString(8)}`);
      if (entry.isDirectory()) await walk(path);
    }
  };
  const root = await lstat(stack.dataDir);
  assert.equal(root.mode & 0o077, 0, `the data dir itself is ${(root.mode & 0o777).toString(8)}`);
  await walk(stack.dataDir);
  assert.deepEqual(wide, []);
});
