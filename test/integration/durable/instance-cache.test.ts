// The in-memory copies alone: read-through on a miss, LRU eviction, and a history entry of an older
// execution never served for a newer one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshRuntime } from '../../../local/durable/episode-plan.js';
import { InstanceCache } from '../../../local/durable/instance-cache.js';
import { type InstanceRow, SqliteDurableStore } from '../../../local/durable/sqlite-store.js';
import { tempDir } from './harness.js';

const row = (id: string, executionId = `${id}-e1`): InstanceRow => ({
  instanceId: id,
  name: 'O',
  executionId,
  status: 'Running',
  input: null,
  output: null,
  customStatus: null,
  createdAt: 0,
  lastUpdatedAt: 0,
  parentInstanceId: null,
  parentExecutionId: null,
  parentTaskId: null,
  runtime: freshRuntime(),
});

describe('InstanceCache', () => {
  let store: SqliteDurableStore;
  before(async () => {
    store = new SqliteDurableStore(await tempDir('cache'));
  });
  after(() => store.close());

  it('reads through on a miss and keeps at most its capacity', () => {
    const cache = new InstanceCache(store, 2);
    store.putInstance(row('a'));
    assert.equal(cache.row('a')?.executionId, 'a-e1');
    assert.equal(cache.row('missing'), undefined);
    cache.setRow({ ...row('a'), status: 'Completed' });
    assert.equal(cache.row('a')?.status, 'Completed', 'served from memory, not the store');
    cache.setRow(row('b'));
    cache.setRow(row('c'));
    assert.equal(cache.row('a')?.status, 'Running', 'evicted (least recently used), read again from the store');
  });

  it('serves history of the current execution only; a new execution starts empty', () => {
    const cache = new InstanceCache(store, 10);
    store.putInstance(row('h'));
    store.transaction(() => store.appendHistory('h', 0, '{"EventType":12}'));
    const h = cache.history(row('h'));
    assert.deepEqual(h.chunks, ['{"EventType":12}']);
    h.chunks.push('{"EventType":13}');
    assert.equal(cache.history(row('h')).chunks.length, 2, 'the cached entry');
    assert.deepEqual(cache.history(row('h', 'h-e2')).chunks, ['{"EventType":12}'], 'stale entry: read again');
    cache.startHistory('h', 'h-e3');
    assert.deepEqual(cache.history(row('h', 'h-e3')).chunks, []);
  });
});
