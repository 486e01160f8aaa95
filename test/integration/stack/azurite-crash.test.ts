import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { blobClient, queueClient, startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';

// Azurite saved its metadata databases every 5 s, so a kill -9 lost acknowledged queue messages and blobs
// (issue 9). Every write acknowledged here must be there after Azurite is killed with SIGKILL the moment
// the last answer arrives, and restarted by the supervisor on the same data dir.

const stacks: TestStack[] = [];
after(async () => {
  for (const s of stacks) await s.dispose();
});

const MESSAGES = 120;
const BLOBS = 40;

async function inBatches<T>(items: T[], inFlight: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

test('acknowledged queue messages and blob writes survive a SIGKILL of Azurite', async () => {
  const stack = await startTestStack({ services: ['azurite'] });
  stacks.push(stack);
  await withServiceOutput(stack, async () => {
    const queue = queueClient(stack.descriptor).getQueueClient('crash-submissions');
    await queue.create();
    const container = blobClient(stack.descriptor).getContainerClient('crash-manifests');
    await container.create();

    const texts = Array.from({ length: MESSAGES }, (_, i) => `submission-${i}`);
    const names = Array.from({ length: BLOBS }, (_, i) => `ws/exp/job-${i}.json`);
    // Interleaved, several requests in flight, as a burst of submissions would be.
    await Promise.all([
      inBatches(texts, 8, (t) => queue.sendMessage(t)),
      inBatches(names, 4, (n) => container.getBlockBlobClient(n).upload(`{"job":"${n}"}`, n.length + 10)),
    ]);
    // A delete and a dequeue are writes too: they must not come back.
    await container.getBlobClient(names[0]!).delete();
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 1 });
    const taken = receivedMessageItems[0]!;
    await queue.deleteMessage(taken.messageId, taken.popReceipt);

    const pid = stack.supervisor.pid('azurite');
    assert.ok(pid, 'Azurite runs as a child process');
    process.kill(pid, 'SIGKILL');
    await waitFor(
      'a new Azurite process answering',
      async () =>
        stack.supervisor.pid('azurite') !== pid &&
        (await queue.getProperties().then(
          () => true,
          () => false,
        )),
      60_000,
      100,
    );

    const seen: string[] = [];
    for (;;) {
      const r = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 600 });
      if (r.receivedMessageItems.length === 0) break;
      for (const m of r.receivedMessageItems) seen.push(m.messageText);
    }
    const expected = texts.filter((t) => t !== taken.messageText).sort();
    assert.equal(seen.length, expected.length, 'every acknowledged message, and not the deleted one');
    assert.deepEqual(seen.sort(), expected);

    const listed: string[] = [];
    for await (const b of container.listBlobsFlat()) listed.push(b.name);
    assert.deepEqual(listed.sort(), names.slice(1).sort());
    const last = names[names.length - 1]!;
    assert.equal((await container.getBlobClient(last).downloadToBuffer()).toString(), `{"job":"${last}"}`);
  });
});
