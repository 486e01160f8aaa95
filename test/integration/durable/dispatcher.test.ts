// The dispatch loop alone, driven by work functions the test controls: one episode per instance at a
// time (a wake while it runs makes it run once more right after), and the concurrency limits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatcher, type DispatchWork } from '../../../local/durable/dispatcher.js';
import type { ActivityRow } from '../../../local/durable/sqlite-store.js';
import { waitFor } from './harness.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

const activity = (id: number): ActivityRow => ({
  id,
  instanceId: 'i',
  executionId: 'e',
  taskId: id,
  name: 'A',
  input: '',
});

describe('Dispatcher', () => {
  it('runs one episode per instance at a time; a wake meanwhile runs it again once, after', async () => {
    const runs: string[] = [];
    let active = 0;
    let maxActive = 0;
    const first = gate();
    const work: DispatchWork = {
      async runEpisode(id) {
        runs.push(id);
        active++;
        maxActive = Math.max(maxActive, active);
        if (runs.length === 1) await first.opened;
        active--;
      },
      runActivity: async () => {},
      episodeFailed: () => {},
      activityFailed: () => {},
    };
    const d = new Dispatcher(work, { maxConcurrentOrchestrations: 4, maxConcurrentActivities: 1 });
    d.wake('x');
    await waitFor('the first episode', () => runs.length === 1);
    d.wake('x');
    d.wake('x');
    assert.equal(d.runningEpisodes, 1);
    first.open();
    await waitFor('the episode to run again', () => runs.length === 2 && d.runningEpisodes === 0);
    assert.deepEqual(runs, ['x', 'x'], 'two wakes while running made one more episode');
    assert.equal(maxActive, 1);
    await d.stop(1000);
  });

  it('keeps episodes and activities within their limits and reports failures', async () => {
    const held = gate();
    let episodes = 0;
    let activities = 0;
    let maxEpisodes = 0;
    let maxActivities = 0;
    const failed: string[] = [];
    const failedActivities: number[] = [];
    const work: DispatchWork = {
      async runEpisode(id) {
        episodes++;
        maxEpisodes = Math.max(maxEpisodes, episodes);
        await held.opened;
        episodes--;
        if (id === 'bad') throw new Error('episode broke');
      },
      async runActivity(a) {
        activities++;
        maxActivities = Math.max(maxActivities, activities);
        await held.opened;
        activities--;
        if (a.id === 3) throw new Error('activity broke');
      },
      episodeFailed: (id) => failed.push(id),
      activityFailed: (a) => failedActivities.push(a.id),
    };
    const d = new Dispatcher(work, { maxConcurrentOrchestrations: 2, maxConcurrentActivities: 3 });
    for (const id of ['a', 'b', 'c', 'bad']) d.wake(id);
    for (let i = 1; i <= 5; i++) d.enqueueActivity(activity(i));
    await waitFor('the limits to fill', () => d.runningEpisodes === 2 && d.runningActivities === 3);
    held.open();
    await waitFor(
      'all work to finish',
      () =>
        failed.length === 1 && failedActivities.length === 1 && d.runningEpisodes === 0 && d.runningActivities === 0,
    );
    assert.equal(maxEpisodes, 2);
    assert.equal(maxActivities, 3);
    assert.deepEqual(failed, ['bad']);
    assert.deepEqual(failedActivities, [3]);
    await d.stop(1000);
  });

  it('after stop, nothing new starts', async () => {
    const runs: string[] = [];
    const d = new Dispatcher(
      {
        runEpisode: async (id) => void runs.push(id),
        runActivity: async () => {},
        episodeFailed: () => {},
        activityFailed: () => {},
      },
      { maxConcurrentOrchestrations: 1, maxConcurrentActivities: 1 },
    );
    d.wake('before');
    await waitFor('the episode', () => runs.length === 1);
    await d.stop(1000);
    d.wake('after');
    // The pump runs in a microtask: let a macrotask pass so it would have run by now.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(runs, ['before']);
  });
});
