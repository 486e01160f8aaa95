// The in-memory timer index: fires at fireAt (not before), in order, and re-arms across setTimeout's
// 2^31-1 ms limit instead of firing far-future timers at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TimerRow } from '../../../local/durable/sqlite-store.js';
import { TimerWheel } from '../../../local/durable/timer-wheel.js';

function timer(id: number, fireAt: number): TimerRow {
  return { id, instanceId: `i${id}`, executionId: 'e', timerId: id, fireAt };
}

describe('TimerWheel', () => {
  it('fires due timers in fireAt order, not early, and ignores far-future ones', async () => {
    const fired: { id: number; at: number }[] = [];
    const wheel = new TimerWheel((due) => {
      for (const t of due) fired.push({ id: t.id, at: Date.now() });
    });
    const now = Date.now();
    wheel.add(timer(1, now + 60 * 86_400_000)); // 60 days: beyond setTimeout's range
    wheel.add(timer(2, now + 80));
    wheel.add(timer(3, now + 30));
    wheel.add(timer(4, now - 5)); // already due
    const deadline = Date.now() + 10_000;
    while (fired.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    wheel.stop();
    assert.deepEqual(
      fired.map((f) => f.id),
      [4, 3, 2],
    );
    assert.ok(fired[1]!.at >= now + 30 && fired[2]!.at >= now + 80, 'never before fireAt');
    // No polling lag: it wakes at fireAt. The bound only allows for a loaded machine's event-loop delay.
    assert.ok(fired[2]!.at - (now + 80) < 5000, `woke without polling lag (${fired[2]!.at - (now + 80)} ms late)`);
    assert.equal(wheel.size, 1);
  });
});
