import assert from 'node:assert/strict';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  blobClient,
  cosmosClient,
  queueClient,
  startTestStack,
  type TestStack,
  withServiceOutput,
} from '../../support/stack.js';

// The local stack must keep everything across a restart: a newcomer's jobs, clusters and queued work
// are still there after Ctrl-C and a second `npm start`. These tests write through the real SDKs,
// restart the real emulators on the same data dir, and read back.

const stacks: TestStack[] = [];
after(async () => {
  for (const s of stacks) await s.dispose();
});

test('Cosmos items, blobs and queue messages survive a stop and a restart of the stack', async () => {
  const first = await startTestStack({ services: ['azurite', 'cosmos'] });
  stacks.push(first);
  const written = await withServiceOutput(first, async () => {
    const cosmos = cosmosClient(first.descriptor);
    const { database } = await cosmos.databases.createIfNotExists({ id: 'persist' });
    const { container } = await database.containers.createIfNotExists({
      id: 'jobs',
      partitionKey: { paths: ['/workspace'] },
      indexingPolicy: {
        compositeIndexes: [
          [
            { path: '/priority', order: 'descending' },
            { path: '/seq', order: 'ascending' },
          ],
        ],
      },
    });
    await container.items.create({ id: 'job-1', workspace: 'ws', priority: 1, seq: 1, state: 'queued' });
    await container.items.create({ id: 'job-2', workspace: 'ws', priority: 2, seq: 2, state: 'queued' });
    await container.items.create({ id: 'job-3', workspace: 'other', priority: 0, seq: 3, state: 'queued' });
    const { resource: job1 } = await container.item('job-1', 'ws').read();
    const { resource: replaced } = await container
      .item('job-1', 'ws')
      .replace({ ...job1, state: 'running' }, { accessCondition: { type: 'IfMatch', condition: job1._etag } });
    await container.item('job-3', 'other').delete();
    await container.items.upsert({ id: 'job-4', workspace: 'ws', priority: 2, seq: 4, state: 'queued' });
    await container.item('job-4', 'ws').patch([{ op: 'incr', path: '/seq', value: 10 }]);

    const blobs = blobClient(first.descriptor).getContainerClient('manifests');
    await blobs.createIfNotExists();
    await blobs.getBlockBlobClient('ws/exp/job.json').upload('{"nodeCount":2}', 15);

    const queue = queueClient(first.descriptor).getQueueClient('job-submissions');
    await queue.createIfNotExists();
    await queue.sendMessage('hello after restart');
    return { etag: replaced?._etag as string };
  });
  await first.stop();

  const second = await startTestStack({ services: ['azurite', 'cosmos'], dataDir: first.dataDir });
  stacks.push(second);
  await withServiceOutput(second, async () => {
    const container = cosmosClient(second.descriptor).database('persist').container('jobs');
    const { resources } = await container.items
      .query({
        query: 'SELECT c.id, c.state, c.seq FROM c WHERE c.workspace = @ws ORDER BY c.priority DESC, c.seq ASC',
        parameters: [{ name: '@ws', value: 'ws' }],
      })
      .fetchAll();
    assert.deepEqual(resources, [
      { id: 'job-2', state: 'queued', seq: 2 },
      { id: 'job-4', state: 'queued', seq: 14 },
      { id: 'job-1', state: 'running', seq: 1 },
    ]);
    const { resource: job1 } = await container.item('job-1', 'ws').read();
    assert.equal(job1?._etag, written.etag, 'etags survive, so If-Match writes keep working across a restart');
    const gone = await container.item('job-3', 'other').read();
    assert.equal(gone.statusCode, 404);

    const blob = blobClient(second.descriptor).getContainerClient('manifests').getBlobClient('ws/exp/job.json');
    assert.equal((await blob.downloadToBuffer()).toString(), '{"nodeCount":2}');

    const queue = queueClient(second.descriptor).getQueueClient('job-submissions');
    const { peekedMessageItems } = await queue.peekMessages();
    assert.equal(peekedMessageItems[0]?.messageText, 'hello after restart');
  });
  await second.stop();
});

test('a Cosmos emulator killed with SIGKILL is restarted by the supervisor with every acknowledged write', async () => {
  // A tiny compaction threshold makes the emulator fold its journal into snapshots several times.
  const stack = await startTestStack({ services: ['cosmos'], cosmosCompactAfter: 3 });
  stacks.push(stack);
  await withServiceOutput(stack, async () => {
    const cosmos = cosmosClient(stack.descriptor);
    const { database } = await cosmos.databases.createIfNotExists({ id: 'crash' });
    const { container } = await database.containers.createIfNotExists({
      id: 'nodes',
      partitionKey: { paths: ['/cluster'] },
    });
    for (let i = 0; i < 20; i++) await container.items.create({ id: `n${i}`, cluster: 'c1', state: 'idle' });
    await container.item('n5', 'c1').delete();

    const pid = stack.supervisor.pid('cosmos');
    assert.ok(pid, 'the emulator runs as a child process');
    process.kill(pid, 'SIGKILL');
    // Wait for the supervisor to bring up a new process and for it to answer again.
    let count: number | undefined;
    for (let attempt = 0; attempt < 600 && count === undefined; attempt++) {
      await sleep(100);
      if (stack.supervisor.pid('cosmos') === pid) continue;
      count = await container.items
        .query<number>('SELECT VALUE COUNT(1) FROM c')
        .fetchAll()
        .then((r) => r.resources[0])
        .catch(() => undefined);
    }
    assert.notEqual(stack.supervisor.pid('cosmos'), pid, 'a new emulator process replaced the killed one');
    assert.equal(count, 19);
    const { resource } = await container.item('n19', 'c1').read();
    assert.equal(resource?.state, 'idle');
  });
});

test('a journal torn by a crash mid-write loses nothing acknowledged, before or after the restart', async () => {
  const first = await startTestStack({ services: ['cosmos'] });
  stacks.push(first);
  const container = async (stack: TestStack) => {
    const { database } = await cosmosClient(stack.descriptor).databases.createIfNotExists({ id: 'torn' });
    return (await database.containers.createIfNotExists({ id: 'c', partitionKey: { paths: ['/id'] } })).container;
  };
  await (await container(first)).items.create({ id: 'before' });
  await first.stop();
  // What a crash in the middle of appending an entry leaves behind.
  const dir = join(first.dataDir, 'cosmos', 'data');
  const journal = readdirSync(dir).find((f) => f.startsWith('journal-'));
  assert.ok(journal, 'the emulator keeps a journal');
  appendFileSync(join(dir, journal), '{"k":"Documents","p":"/dbs/x/colls/y","op":"se');

  // Restart, write, and crash again (SIGKILL, no compaction at exit): the journal alone must carry the write
  // made after the torn line.
  const second = await startTestStack({ services: ['cosmos'], dataDir: first.dataDir });
  stacks.push(second);
  const pid = second.supervisor.pid('cosmos');
  const c = await container(second);
  await c.items.create({ id: 'after' });
  process.kill(pid!, 'SIGKILL');
  let ids: string[] = [];
  for (let attempt = 0; attempt < 600 && ids.length < 2; attempt++) {
    await sleep(100);
    if (second.supervisor.pid('cosmos') === pid) continue;
    ids = await c.items
      .query<string>('SELECT VALUE c.id FROM c')
      .fetchAll()
      .then((r) => r.resources.sort())
      .catch(() => []);
  }
  assert.deepEqual(ids, ['after', 'before']);
});
