import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PassBatches } from '../../../shared/jobs/pass-batches.js';

/** A pass the test finishes by hand, recording the requests it ran with. */
function gatedPass() {
  const runs: string[][] = [];
  const gates: Array<() => void> = [];
  const run = async (requests: readonly string[]) => {
    runs.push([...requests]);
    await new Promise<void>((resolve) => gates.push(resolve));
    return runs.length;
  };
  return { runs, gates, run };
}

test('requests arriving while a pass runs are served together by the next pass', async () => {
  const batches = new PassBatches<string, number>();
  const p = gatedPass();
  const first = batches.run('c', 'a', p.run);
  const second = batches.run('c', 'b', p.run);
  const third = batches.run('c', 'c', p.run);
  assert.deepEqual(p.runs, [['a']], 'one pass at a time');
  p.gates.shift()!();
  assert.equal(await first, 1);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(p.runs, [['a'], ['b', 'c']]);
  p.gates.shift()!();
  assert.deepEqual(await Promise.all([second, third]), [2, 2], 'both get the result of the pass they shared');
  assert.equal(batches.active, 0, 'an idle key leaves nothing behind');
});

test('keys do not wait for each other, and a failed pass fails only its own batch', async () => {
  const batches = new PassBatches<string, string>();
  let calls = 0;
  const failing = async () => {
    calls++;
    if (calls === 1) throw new Error('store down');
    return 'ok';
  };
  const a = batches.run('x', 'r1', failing);
  const b = batches.run('y', 'r2', async () => 'other');
  await assert.rejects(a, /store down/);
  assert.equal(await b, 'other');
  assert.equal(await batches.run('x', 'r3', failing), 'ok', 'the next pass runs again');
});
