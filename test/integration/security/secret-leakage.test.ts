import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { BatchAiApi } from '../../support/api-client.js';
import {
  blobClient,
  cosmosClient,
  queueClient,
  startTestStack,
  type TestStack,
  withServiceOutput,
} from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { fullCluster, fullFileServer, fullJob } from '../../unit/domain/fixtures.js';

// Secrets are write-only: after clusters, file servers and jobs with secrets went through every way in (HTTP, the
// queue, manifests; accepted, rejected, poisoned, terminated, deleted), no store holds one in clear. Each store is
// read directly, not through the API: Cosmos documents, the durable SQLite store, queues (poison included), every
// blob (archived and rejected manifests included), and every file under the data dir (logs, journals, SQLite
// files and their WAL) after the services stopped, so nothing is still in memory only.

let stack: TestStack;
let api: BatchAiApi;
const run = randomBytes(4).toString('hex');
const secrets = new Set<string>();
/** A distinct secret per place it is put, so a leak says where it came from. */
const secret = (name: string) => {
  const value = `LEAK-${name}-${run}`;
  secrets.add(value);
  return value;
};

/** The secret as it would appear in clear, or base64/base64url-encoded at any alignment. */
function spellings(value: string): string[] {
  const out = [value];
  for (let pad = 0; pad < 3; pad++) {
    const encoded = Buffer.concat([Buffer.alloc(pad, 0x20), Buffer.from(value)]).toString('base64');
    const stable = encoded.slice(4, -4);
    out.push(stable, stable.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}

function leaksIn(where: string, text: string): string[] {
  const found: string[] = [];
  for (const value of secrets) {
    if (spellings(value).some((s) => text.includes(s))) found.push(`${value} in ${where}`);
  }
  return found;
}

before(async () => {
  stack = await startTestStack();
  api = new BatchAiApi(stack.descriptor);
});
after(() => stack?.dispose());

test('no secret is stored in clear anywhere after jobs with secrets went through every channel', () =>
  withServiceOutput(stack, async () => {
    const ws = api.workspacePath('ws');
    assert.equal((await api.call('PUT', ws, { body: { location: 'local' } })).status, 200);
    assert.equal((await api.call('PUT', `${ws}/experiments/exp`, { body: {} })).status, 200);
    const cluster = fullCluster(secret);
    delete (cluster.properties as { subnet?: unknown }).subnet;
    const putCluster = await api.call('PUT', `${ws}/clusters/c1`, { body: cluster });
    assert.ok(putCluster.status === 200 || putCluster.status === 202, putCluster.text);
    const fileServer = fullFileServer(secret);
    delete (fileServer.properties as { subnet?: unknown }).subnet;
    const putFs = await api.call('PUT', `${ws}/fileServers/fs1`, { body: fileServer });
    assert.ok(putFs.status === 200 || putFs.status === 202, putFs.text);

    const jobBody = (tag: string) => {
      const body = fullJob((name) => secret(`${tag}-${name}`));
      const props = body.properties as Record<string, unknown> & { mountVolumes: Record<string, unknown> };
      props.cluster = { id: api.clusterId('ws', 'c1') };
      props.mountVolumes.fileServers = [{ fileServer: { id: `${ws}/fileServers/fs1` }, relativeMountPath: 'nfs' }];
      return body;
    };
    // HTTP: a job that is accepted, terminated, one that is deleted, and a refused one.
    const http = await api.call('PUT', api.jobPath('ws', 'exp', 'http'), { body: jobBody('http') });
    assert.equal(http.status, 202, http.text);
    await api.waitForOperation(http.headers.get('location')!);
    const terminate = await api.call('POST', `${api.jobPath('ws', 'exp', 'http')}/terminate`);
    assert.ok(terminate.status === 200 || terminate.status === 202, terminate.text);
    const doomed = await api.call('PUT', api.jobPath('ws', 'exp', 'deleted'), { body: jobBody('deleted') });
    await api.waitForOperation(doomed.headers.get('location')!);
    const del = await api.call('DELETE', api.jobPath('ws', 'exp', 'deleted'));
    assert.ok(del.status === 202 || del.status === 200 || del.status === 204, del.text);
    const refusedBody = jobBody('refused');
    (refusedBody.properties as Record<string, unknown>).nodeCount = 0;
    assert.equal((await api.call('PUT', api.jobPath('ws', 'exp', 'refused'), { body: refusedBody })).status, 400);

    // The queue: one accepted, one poisoned.
    const queue = queueClient(stack.descriptor).getQueueClient('job-submissions');
    await queue.createIfNotExists();
    const send = (m: unknown) => queue.sendMessage(Buffer.from(JSON.stringify(m)).toString('base64'));
    await send({ id: api.jobPath('ws', 'exp', 'queued'), ...jobBody('queued') });
    const poisoned = jobBody('poisoned');
    (poisoned.properties as Record<string, unknown>).nodeCount = 0;
    await send({ id: api.jobPath('ws', 'exp', 'poisoned'), ...poisoned });

    // Manifests: one accepted, one rejected.
    const blobs = blobClient(stack.descriptor);
    const manifests = blobs.getContainerClient('manifests');
    await manifests.createIfNotExists();
    const upload = (name: string, body: unknown) => {
      const text = JSON.stringify(body);
      return manifests.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
    };
    await upload('ws/exp/manifest.json', jobBody('manifest'));
    const rejected = jobBody('rejected');
    (rejected.properties as Record<string, unknown>).customToolkitSettings = undefined;
    (rejected.properties as Record<string, unknown>).horovodSettings = undefined;
    await upload('ws/exp/rejected.json', rejected);

    const exists = (container: string, name: string) =>
      blobs.getContainerClient(container).getBlobClient(name).exists();
    await waitFor(
      'the accepted manifest',
      async () => (await exists('manifests-accepted', 'ws/exp/manifest.json')) || undefined,
      60_000,
    );
    await waitFor(
      'the rejection report',
      async () => (await exists('manifests-rejected', 'ws/exp/rejected.json.error.json')) || undefined,
      60_000,
    );
    const job = (name: string) => api.call('GET', api.jobPath('ws', 'exp', name));
    await waitFor('the queued job', async () => ((await job('queued')).status === 200 ? true : undefined), 60_000);
    const poison = queueClient(stack.descriptor).getQueueClient('job-submissions-poison');
    await waitFor(
      'the poison entry',
      async () => ((await poison.exists()) && (await poison.peekMessages()).peekedMessageItems.length > 0) || undefined,
      60_000,
    );
    await waitFor(
      'the submissions queue drained',
      async () => ((await queue.getProperties()).approximateMessagesCount === 0 ? true : undefined),
      60_000,
    );

    // Every API answer is clean too.
    const listed = await api.call('GET', `${ws}/experiments/exp/jobs`);
    const answers = [
      listed.text,
      (await job('http')).text,
      (await job('queued')).text,
      (await api.call('GET', `${ws}/clusters/c1`)).text,
      (await api.call('GET', `${ws}/fileServers/fs1`)).text,
    ];
    const leaks: string[] = answers.flatMap((text, i) => leaksIn(`API answer ${i}`, text));

    // Cosmos, every document of every container.
    const cosmos = cosmosClient(stack.descriptor);
    const { resources: databases } = await cosmos.databases.readAll().fetchAll();
    let documents = 0;
    for (const db of databases) {
      const { resources: containers } = await cosmos.database(db.id).containers.readAll().fetchAll();
      for (const c of containers) {
        const { resources } = await cosmos.database(db.id).container(c.id).items.readAll().fetchAll();
        documents += resources.length;
        for (const doc of resources) leaks.push(...leaksIn(`cosmos ${db.id}/${c.id}/${doc.id}`, JSON.stringify(doc)));
      }
    }
    assert.ok(documents >= 6, `the jobs, cluster and file server are in Cosmos (${documents} documents)`);

    // Every queue (poison included), decoded.
    for await (const q of queueClient(stack.descriptor).listQueues()) {
      const { peekedMessageItems } = await queueClient(stack.descriptor)
        .getQueueClient(q.name)
        .peekMessages({ numberOfMessages: 32 });
      for (const m of peekedMessageItems) {
        leaks.push(
          ...leaksIn(`queue ${q.name}`, `${m.messageText}\n${Buffer.from(m.messageText, 'base64').toString('utf8')}`),
        );
      }
    }

    // Every blob of every container (archived and rejected manifests, reports, outputs, durable state).
    let blobCount = 0;
    for await (const c of blobs.listContainers()) {
      for await (const b of blobs.getContainerClient(c.name).listBlobsFlat()) {
        blobCount++;
        const content = await blobs.getContainerClient(c.name).getBlobClient(b.name).downloadToBuffer();
        leaks.push(...leaksIn(`blob ${c.name}/${b.name}`, content.toString('utf8')));
      }
    }
    assert.ok(blobCount >= 3, `the archived manifests and the report are blobs (${blobCount})`);

    // Every file under the data dir, after the services stopped and flushed: logs, the Cosmos journal, the durable
    // SQLite store and its WAL, Event Grid's outbox. Azurite's extent files are left out: they hold the raw bytes
    // callers uploaded (a manifest before it is processed, a queue message before it is read), as Azure Storage
    // does; what we keep there was read above through the storage API.
    await stack.stop();
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (!/^__(blob|queue|table)storage__$/.test(entry.name)) await walk(path);
        } else if (entry.isFile()) files.push(path);
      }
    };
    await walk(stack.dataDir);
    const names = files.map((f) => relative(stack.dataDir, f));
    assert.ok(
      names.some((n) => n.startsWith('logs/')),
      `the logs are scanned: ${names.join(', ')}`,
    );
    assert.ok(
      names.some((n) => /durable|sqlite|\.db$/.test(n)),
      `the durable store is scanned: ${names.join(', ')}`,
    );
    assert.ok(
      names.some((n) => n.startsWith('cosmos/')),
      `the Cosmos data is scanned: ${names.join(', ')}`,
    );
    for (const file of files) {
      const content = await readFile(file);
      leaks.push(
        ...leaksIn(
          `file ${relative(stack.dataDir, file)}`,
          `${content.toString('utf8')}\n${content.toString('latin1')}`,
        ),
      );
    }
    assert.ok(secrets.size >= 30, `${secrets.size} distinct secrets were sent`);
    // The scan itself finds a secret in clear and in base64 at any alignment (or every check above is hollow).
    const probe = [...secrets][0]!;
    for (const pad of ['', 'x', 'xy']) {
      assert.equal(leaksIn('probe', Buffer.from(`${pad}${probe}!`).toString('base64')).length, 1, `pad '${pad}'`);
    }
    assert.equal(leaksIn('probe', `{"value":"${probe}"}`).length, 1);
    assert.deepEqual(leaks, []);
  }));
