// The client operations alone, on a real SQLite store: each answer matches what was committed, and an
// instance is woken only for work that exists.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientOperations } from '../../../local/durable/client-operations.js';
import { EventType } from '../../../local/durable/history.js';
import { InstanceCache } from '../../../local/durable/instance-cache.js';
import { SqliteDurableStore } from '../../../local/durable/sqlite-store.js';
import { tempDir } from './harness.js';

describe('ClientOperations', () => {
  let store: SqliteDurableStore;
  let ops: ClientOperations;
  const woken: string[] = [];
  before(async () => {
    store = new SqliteDurableStore(await tempDir('client'));
    ops = new ClientOperations({
      store,
      cache: new InstanceCache(store, 100),
      resolveOrchestrator: (n) => (n.toLowerCase() === 'hello' ? 'Hello' : undefined),
      wake: (id) => woken.push(id),
    });
  });
  after(() => store.close());

  it('startNew stores a Pending instance with its ExecutionStarted and wakes it; a second start conflicts', async () => {
    assert.deepEqual(await ops.startNew('hello', 'h1', '{"x":1}'), { kind: 'started', instanceId: 'h1' });
    const row = store.getInstance('h1');
    assert.equal(row?.status, 'Pending');
    assert.equal(row?.name, 'Hello', 'the registered name');
    const [start] = store.messagesFor('h1');
    assert.equal(start?.event.EventType, EventType.ExecutionStarted);
    assert.equal(start?.executionId, row?.executionId);
    assert.deepEqual(woken, ['h1']);
    assert.deepEqual(await ops.startNew('Hello', 'h1', null), { kind: 'conflict', status: 'Pending' });
    assert.deepEqual(await ops.startNew('nope', 'n1', null), { kind: 'unknownOrchestrator' });
    assert.equal(store.getInstance('n1'), undefined);
  });

  it('control messages: accepted for a live instance, notFound / gone otherwise', async () => {
    woken.length = 0;
    assert.equal(await ops.raiseEvent('h1', 'go', '1'), 'accepted');
    assert.equal(await ops.suspend('h1', 'r'), 'accepted');
    assert.deepEqual(
      store.messagesFor('h1').map((m) => m.event.EventType),
      [EventType.ExecutionStarted, EventType.EventRaised, EventType.ExecutionSuspended],
    );
    assert.deepEqual(woken, ['h1', 'h1']);
    assert.equal(await ops.terminate('missing', 'r'), 'notFound');
    const row = store.getInstance('h1')!;
    store.transaction(() => store.updateInstance({ ...row, status: 'Completed' }, row.executionId));
    assert.equal(await ops.raiseEvent('h1', 'go', null), 'gone');
  });

  it('purge deletes only finished instances; a finished id can be started again', async () => {
    assert.equal(await ops.startNew('hello', 'h2', null).then((r) => r.kind), 'started');
    assert.equal(await ops.purge('h2'), 'conflict');
    assert.equal(await ops.purge('h1'), 'purged');
    assert.equal(ops.getInstance('h1'), undefined);
    assert.equal(await ops.purge('h1'), 'notFound');
    const h2 = store.getInstance('h2')!;
    store.transaction(() => store.updateInstance({ ...h2, status: 'Failed' }, h2.executionId));
    const restarted = await ops.startNew('hello', 'h2', null);
    assert.equal(restarted.kind, 'started');
    assert.notEqual(store.getInstance('h2')?.executionId, h2.executionId, 'a new execution');
    assert.equal(store.getInstance('h2')?.status, 'Pending');
  });
});
