import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RENDEZVOUS_PORTS_PER_NODE } from '../../../shared/domain/launch-plans/types.js';
import {
  assignBlocks,
  blockOfPort,
  emptyBlockTable,
  isFull,
  portOfBlock,
  RENDEZVOUS_BLOCKS,
  RENDEZVOUS_FIRST_PORT,
  type RendezvousBlockTable,
} from '../../../shared/domain/rendezvous-blocks.js';

// Rendezvous-port blocks of nodes that share an address (decision 0063): whatever order nodes come and go in, no
// two live nodes ever hold overlapping ports.

test('nodes whose login ports are 2000 apart (the old derivation collided) get different blocks', () => {
  const a = assignBlocks(emptyBlockTable(), ['bai-cA_30001']);
  assert.ok(a.ok);
  const b = assignBlocks(a.table, ['bai-cB_32001']);
  assert.ok(b.ok);
  assert.notEqual(a.blocks.get('bai-cA_30001'), b.blocks.get('bai-cB_32001'));
});

test('a node keeps its block when asked again (a retried launch), and the table is not rewritten', () => {
  const first = assignBlocks(emptyBlockTable(), ['n_1', 'n_2']);
  assert.ok(first.ok);
  const again = assignBlocks(first.table, ['n_2', 'n_1']);
  assert.ok(again.ok);
  assert.equal(again.changed, false);
  assert.deepEqual([...again.blocks.entries()].sort(), [...first.blocks.entries()].sort());
});

test('ports: a block is 16 ports in 20000…51999, and a port names its block back', () => {
  assert.equal(portOfBlock(0), RENDEZVOUS_FIRST_PORT);
  assert.equal(portOfBlock(RENDEZVOUS_BLOCKS - 1) + RENDEZVOUS_PORTS_PER_NODE - 1, 51_999);
  for (const b of [0, 1, 17, RENDEZVOUS_BLOCKS - 1]) assert.equal(blockOfPort(portOfBlock(b)), b);
  assert.equal(blockOfPort(RENDEZVOUS_FIRST_PORT + 1), undefined);
  assert.equal(blockOfPort(portOfBlock(RENDEZVOUS_BLOCKS)), undefined);
});

test('a full table: only blocks of gone holders are given again; otherwise nothing changes', () => {
  const holders: Record<string, string> = {};
  for (let b = 0; b < RENDEZVOUS_BLOCKS; b++) holders[String(b)] = `n_${b}`;
  const full: RendezvousBlockTable = { holders };
  assert.ok(isFull(full));
  assert.deepEqual(assignBlocks(full, ['new_1']), { ok: false, needed: 1 });
  const reused = assignBlocks(full, ['new_1'], new Set(['n_7']));
  assert.ok(reused.ok);
  assert.equal(reused.blocks.get('new_1'), 7);
  assert.equal(reused.table.holders['7'], 'new_1');
  assert.equal(full.holders['7'], 'n_7', 'the input table is not changed');
});

test('property: under any sequence of nodes created, launched on and deleted, live nodes never share a block', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('launch' as const), nodes: fc.array(fc.nat(40), { minLength: 1, maxLength: 4 }) }),
    fc.record({ kind: fc.constant('delete' as const), node: fc.nat(40) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), fc.integer({ min: 2, max: 12 }), (ops, capacity) => {
      // A small table (capacity blocks) makes reuse of gone holders' blocks happen often.
      let table = emptyBlockTable();
      const live = new Map<string, number | undefined>(); // node id → the block its record holds
      let generation = 0;
      const names = new Map<number, string>();
      const nameOf = (n: number) => {
        if (!names.has(n)) names.set(n, `bai-c${generation++}_${n}`);
        return names.get(n)!;
      };
      for (const o of ops) {
        if (o.kind === 'delete') {
          const name = names.get(o.node);
          if (name) live.delete(name);
          names.delete(o.node); // a new node in that slot is a new node
          continue;
        }
        const ids = o.nodes.map(nameOf);
        for (const id of ids) if (!live.has(id)) live.set(id, undefined);
        const need = ids.filter((id) => live.get(id) === undefined);
        const gone = new Set(Object.values(table.holders).filter((h) => !live.has(h)));
        const limited = { holders: table.holders };
        const result = assignWithCapacity(limited, need, gone, capacity);
        if (!result) {
          // Refused only when every block is held by a live node that uses it.
          const liveHolders = Object.values(table.holders).filter((h) => live.has(h)).length;
          assert.ok(liveHolders + new Set(need).size > capacity, 'refused while blocks were free');
          continue;
        }
        table = result.table;
        for (const [id, block] of result.blocks) live.set(id, block);
        const used = [...live.values()].filter((b) => b !== undefined);
        assert.equal(new Set(used).size, used.length, `two live nodes share a block: ${JSON.stringify([...live])}`);
        for (const b of used) assert.ok(b! >= 0 && b! < capacity);
      }
    }),
  );
});

/** assignBlocks on a table limited to `capacity` blocks: the higher ones are pre-filled by holders that never go. */
function assignWithCapacity(table: RendezvousBlockTable, need: string[], gone: Set<string>, capacity: number) {
  const holders = { ...table.holders };
  for (let b = capacity; b < RENDEZVOUS_BLOCKS; b++) holders[String(b)] = 'reserved_0';
  const r = assignBlocks({ holders }, need, gone);
  if (!r.ok) return undefined;
  const kept: Record<string, string> = {};
  for (const [b, h] of Object.entries(r.table.holders)) if (Number(b) < capacity) kept[b] = h;
  return { table: { holders: kept }, blocks: r.blocks };
}
