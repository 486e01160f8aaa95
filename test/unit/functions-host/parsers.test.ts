// Pure parts of the local Functions host: NCRONTAB schedules, route templates, blob path patterns,
// binding expressions, entry-point globs and host.json queue settings.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bindingValues, resolveBindingExpression } from '../../../local/functions-host/binding-expressions.js';
import { blobOfEvent, compileBlobPathPattern } from '../../../local/functions-host/blob-trigger.js';
import { parseSchedule } from '../../../local/functions-host/ncrontab.js';
import { parseTimeSpanMs, queueSettings } from '../../../local/functions-host/queue-settings.js';
import { decodeQueueMessage } from '../../../local/functions-host/queue-trigger.js';
import { expandGlob, resolveEntryPoints } from '../../../local/functions-host/resolve-entry-points.js';
import { compileRoute } from '../../../local/functions-host/route-template.js';

const at = (iso: string) => new Date(iso);
const next = (expr: string, after: string) => parseSchedule(expr).next(at(after))?.toISOString();

test('ncrontab: seconds field, steps, ranges, lists and names', () => {
  assert.equal(next('*/15 * * * * *', '2026-01-01T00:00:01Z'), '2026-01-01T00:00:15.000Z');
  assert.equal(next('0 */5 * * * *', '2026-01-01T00:04:59Z'), '2026-01-01T00:05:00.000Z');
  assert.equal(next('0 0 9-17 * * Mon-Fri', '2026-01-03T12:00:00Z'), '2026-01-05T09:00:00.000Z'); // Sat → Mon
  assert.equal(next('0 30 9 * Jan,Jul *', '2026-02-01T00:00:00Z'), '2026-07-01T09:30:00.000Z');
  assert.equal(next('0 0 0 1 1 *', '2026-01-01T00:00:00Z'), '2027-01-01T00:00:00.000Z');
  assert.equal(next('0 0 0 29 2 *', '2026-03-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
  assert.equal(next('0 0 12 * * 0', '2026-01-01T00:00:00Z'), '2026-01-04T12:00:00.000Z'); // Sunday = 0
  assert.equal(next('0 0 12 * * 7', '2026-01-01T00:00:00Z'), '2026-01-04T12:00:00.000Z'); // and 7
  // 5 fields: seconds = 0
  assert.equal(next('*/10 * * * *', '2026-01-01T00:00:30Z'), '2026-01-01T00:10:00.000Z');
  // strictly after
  assert.equal(next('0 0 * * * *', '2026-01-01T01:00:00Z'), '2026-01-01T02:00:00.000Z');
  // TimeSpan
  assert.equal(next('00:00:30', '2026-01-01T00:00:00Z'), '2026-01-01T00:00:30.000Z');
});

test('ncrontab: invalid schedules are errors naming the problem', () => {
  assert.throws(() => parseSchedule('* * *'), /expected 6 fields/);
  assert.throws(() => parseSchedule('61 * * * * *'), /second value 61 is out of range/);
  assert.throws(() => parseSchedule('0 0 25 * * *'), /hour value 25/);
  assert.throws(() => parseSchedule('0 0 0 * Foo *'), /Invalid month value/);
  assert.throws(() => parseSchedule('*/0 * * * * *'), /Invalid step/);
  assert.equal(parseSchedule('0 0 0 31 2 *').next(at('2026-01-01T00:00:00Z')), undefined);
});

test('route templates: parameters, optional, defaults, constraints, catch-all, precedence', () => {
  const r = compileRoute('products/{category:alpha}/{id:int?}');
  assert.deepEqual(r.match('/products/shoes/12'), { category: 'shoes', id: '12' });
  assert.deepEqual(r.match('/products/shoes'), { category: 'shoes' });
  assert.deepEqual(r.match('/PRODUCTS/shoes/'), { category: 'shoes' });
  assert.equal(r.match('/products/shoes/x'), undefined);
  assert.equal(r.match('/products/sh0es/1'), undefined);
  assert.deepEqual(compileRoute('files/{*path}').match('/files/a/b%20c/d.txt'), { path: 'a/b c/d.txt' });
  assert.deepEqual(compileRoute('pages/{page=1}').match('/pages'), { page: '1' });
  assert.deepEqual(compileRoute('dl/{file}.{ext}').match('/dl/report.pdf'), { file: 'report', ext: 'pdf' });
  assert.deepEqual(compileRoute('n/{v:range(1,10)}').match('/n/10'), { v: '10' });
  assert.equal(compileRoute('n/{v:range(1,10)}').match('/n/11'), undefined);
  assert.deepEqual(compileRoute('r/{v:regex(^[a-c]+$)}').match('/r/abc'), { v: 'abc' });
  assert.equal(compileRoute('r/{v:regex(^[a-c]+$)}').match('/r/abd'), undefined);
  assert.deepEqual(compileRoute('g/{id:guid}').match('/g/0f8fad5b-d9cb-469f-a165-70867728950e'), {
    id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  });
  assert.throws(() => compileRoute('x/{id:nonsense}'), /Unknown route constraint/);
  assert.ok(compileRoute('items/new').precedence > compileRoute('items/{id}').precedence);
  assert.ok(compileRoute('items/{id:int}').precedence > compileRoute('items/{id}').precedence);
  assert.ok(compileRoute('items/{id}').precedence > compileRoute('{*all}').precedence);
});

test('blob path patterns and BlobCreated subjects', () => {
  const p = compileBlobPathPattern('manifests/{name}');
  assert.deepEqual(p.match('manifests/a/b.json'), { name: 'a/b.json' });
  assert.equal(p.match('other/a.json'), undefined);
  assert.deepEqual(compileBlobPathPattern('in/{stem}.json').match('in/x.y.json'), { stem: 'x.y' });
  assert.equal(compileBlobPathPattern('in/{stem}.json').match('in/x.txt'), undefined);
  assert.deepEqual(compileBlobPathPattern('manifests').match('manifests/x'), {});
  assert.deepEqual(blobOfEvent({ subject: '/blobServices/default/containers/c1/blobs/dir/f.json' }), {
    container: 'c1',
    blobName: 'dir/f.json',
  });
  assert.deepEqual(
    blobOfEvent({ subject: '', data: { url: 'http://127.0.0.1:10000/devstoreaccount1/c2/a%20b.txt' } }),
    {
      container: 'c2',
      blobName: 'a b.txt',
    },
  );
});

test('binding expressions: trigger metadata, JSON payload (wins), rand-guid', () => {
  const values = bindingValues(
    { string: JSON.stringify({ id: 'payload-id', job: { name: 'j1' } }) },
    { Id: { string: 'message-id' }, QueueTrigger: { string: 'text' }, DequeueCount: { int: 2 } },
  );
  assert.equal(resolveBindingExpression('r/{id}/{job.name}/{dequeueCount}', values), 'r/payload-id/j1/2');
  assert.equal(resolveBindingExpression('{queueTrigger}', values), 'text');
  assert.match(resolveBindingExpression('x/{rand-guid}', values), /^x\/[0-9a-f-]{36}$/);
  assert.throws(() => resolveBindingExpression('{missing}', values), /No value for named parameter 'missing'/);
});

test('queue settings from host.json, TimeSpans and base64 message decoding', () => {
  assert.deepEqual(queueSettings({}), {
    batchSize: 16,
    newBatchThreshold: 8,
    visibilityTimeoutMs: 0,
    maxDequeueCount: 5,
    messageEncoding: 'base64',
    idlePollMs: 50,
  });
  const s = queueSettings({
    extensions: { queues: { batchSize: 64, visibilityTimeout: '00:00:10', messageEncoding: 'none' } },
  });
  assert.equal(s.batchSize, 32);
  assert.equal(s.newBatchThreshold, 16);
  assert.equal(s.visibilityTimeoutMs, 10_000);
  assert.equal(s.messageEncoding, 'none');
  assert.throws(() => queueSettings({ extensions: { queues: { messageEncoding: 'utf7' } } }), /messageEncoding/);
  assert.equal(parseTimeSpanMs('1.02:03:04.5'), ((26 * 60 + 3) * 60 + 4) * 1000 + 500);
  assert.deepEqual(decodeQueueMessage(Buffer.from('héllo').toString('base64'), 'base64'), { ok: true, text: 'héllo' });
  assert.deepEqual(decodeQueueMessage('not base64!', 'base64'), { ok: false });
  assert.deepEqual(decodeQueueMessage('plain', 'none'), { ok: true, text: 'plain' });
});

test('entry points: a single file or a glob from package.json main', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fh-glob-'));
  await mkdir(join(dir, 'dist/functions/nested'), { recursive: true });
  for (const f of [
    'dist/functions/a.js',
    'dist/functions/b.js',
    'dist/functions/c.map',
    'dist/functions/nested/d.js',
  ]) {
    await writeFile(join(dir, f), '');
  }
  assert.deepEqual(
    (await expandGlob(dir, 'dist/functions/*.js')).map((f) => f.slice(dir.length + 1)),
    ['dist/functions/a.js', 'dist/functions/b.js'],
  );
  assert.deepEqual(
    (await expandGlob(dir, 'dist/**/*.js')).map((f) => f.slice(dir.length + 1)),
    ['dist/functions/a.js', 'dist/functions/b.js', 'dist/functions/nested/d.js'],
  );
  await writeFile(join(dir, 'package.json'), JSON.stringify({ main: './dist/functions/a.js' }));
  assert.deepEqual(await resolveEntryPoints(dir), [join(dir, 'dist/functions/a.js')]);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ main: 'dist/nothing/*.js' }));
  await assert.rejects(resolveEntryPoints(dir), /matches no files/);
});
