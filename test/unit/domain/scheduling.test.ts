import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type Allocation,
  applyPlan,
  type ClusterSchedule,
  clusterScheduleSchema,
  compareQueued,
  emptySchedule,
  enqueue,
  freeNodes,
  newJobRecord,
  type Plan,
  type PlanInput,
  planAllocations,
  type QueuedJob,
  queuedJobFrom,
  queueOrder,
  release,
  requeue,
  type SchedulerNode,
  type SchedulerNodeState,
  schedulePass,
  validateJobCreate,
} from '../../../shared/domain/index.js';
import { CLUSTER_ID, SUB } from './fixtures.js';

const BASE = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(BASE + ms).toISOString();
const HOUR = 3_600_000;

function job(id: string, patch: Partial<QueuedJob> = {}): QueuedJob {
  return {
    jobId: id,
    attempt: 1,
    priority: 'normal',
    nodeCount: 1,
    queuedAt: at(0),
    maxWallClockMs: HOUR,
    ...patch,
  };
}

const idle = (...ids: string[]): SchedulerNode[] => ids.map((nodeId) => ({ nodeId, state: 'idle' }));

function allocation(id: string, nodeIds: string[], deadlineMs: number): Allocation {
  return {
    jobId: id,
    attempt: 1,
    priority: 'normal',
    nodeIds,
    startedAt: at(0),
    deadline: at(deadlineMs),
    queuedAt: at(0),
    nodeCount: nodeIds.length,
    maxWallClockMs: deadlineMs,
    backfilled: false,
  };
}

const started = (plan: Plan) => plan.allocations.map((a) => a.jobId);

describe('planAllocations: examples', () => {
  test('strict priority: high before normal before low, whatever the queued times', () => {
    const plan = planAllocations({
      nodes: idle('n1', 'n2'),
      queue: [
        job('low', { priority: 'low', queuedAt: at(0) }),
        job('normal', { priority: 'normal', queuedAt: at(1) }),
        job('high', { priority: 'high', queuedAt: at(2) }),
      ],
      allocations: [],
      now: at(10),
    });
    assert.deepEqual(started(plan), ['high', 'normal']);
  });

  test('FIFO within a class by queued time, then by job id', () => {
    const plan = planAllocations({
      nodes: idle('n1', 'n2'),
      queue: [job('c', { queuedAt: at(5) }), job('b', { queuedAt: at(1) }), job('a', { queuedAt: at(1) })],
      allocations: [],
      now: at(10),
      backfill: 'none',
    });
    assert.deepEqual(started(plan), ['a', 'b']);
  });

  test('gang: a job gets all of its nodeCount nodes at once, or none', () => {
    const plan = planAllocations({
      nodes: idle('n1', 'n2', 'n3'),
      queue: [job('big', { nodeCount: 4 })],
      allocations: [],
      now: at(0),
    });
    assert.deepEqual(plan.allocations, []);
    assert.equal(plan.reservation?.jobId, 'big');
    assert.equal(plan.reservation?.shadowTime, null, 'three nodes can never hold a four-node job');
  });

  test('nodes held by an allocation are not free, even if the node reports idle (a stale node state)', () => {
    const plan = planAllocations({
      nodes: idle('n1', 'n2'),
      queue: [job('j', { nodeCount: 2 })],
      allocations: [allocation('running', ['n1'], HOUR)],
      now: at(0),
    });
    assert.deepEqual(plan.allocations, []);
  });

  test('only idle nodes are given out', () => {
    const states: SchedulerNodeState[] = ['running', 'preparing', 'unusable', 'leaving', 'starting'];
    const nodes = states.map((state, i) => ({ nodeId: `n${i}`, state }));
    const plan = planAllocations({ nodes, queue: [job('j')], allocations: [], now: at(0) });
    assert.deepEqual(plan.allocations, []);
  });

  test('EASY backfill: a short job runs on idle nodes while the head waits, if it ends before the head can start', () => {
    // n1 is busy until t=1h; the head needs both nodes, so it can start at 1h. A 30-min job fits before that.
    const plan = planAllocations({
      nodes: idle('n1', 'n2'),
      queue: [
        job('head', { nodeCount: 2, queuedAt: at(0) }),
        job('long', { queuedAt: at(1), maxWallClockMs: 2 * HOUR }),
        job('short', { queuedAt: at(2), maxWallClockMs: HOUR / 2 }),
      ],
      allocations: [allocation('running', ['n1'], HOUR)],
      now: at(0),
    });
    assert.deepEqual(plan.reservation, { jobId: 'head', shadowTime: at(HOUR), extraNodes: 0 });
    assert.deepEqual(plan.allocations, [{ jobId: 'short', attempt: 1, nodeIds: ['n2'], backfilled: true }]);
  });

  test('EASY backfill: a long job may use nodes the head will not need at its shadow time', () => {
    const plan = planAllocations({
      nodes: idle('n1', 'n2', 'n3'),
      queue: [
        job('head', { nodeCount: 2, queuedAt: at(0) }),
        job('long', { queuedAt: at(1), maxWallClockMs: 9 * HOUR }),
      ],
      allocations: [allocation('running', ['n1', 'n2'], HOUR)],
      now: at(0),
    });
    // At 1h three nodes are free and the head needs two: one is extra, so the long job can have n3.
    assert.deepEqual(plan.reservation, { jobId: 'head', shadowTime: at(HOUR), extraNodes: 1 });
    assert.deepEqual(started(plan), ['long']);
  });

  test("backfill 'none' starts nothing past a blocked head", () => {
    const input: PlanInput = {
      nodes: idle('n1', 'n2'),
      queue: [job('head', { nodeCount: 2 }), job('short', { queuedAt: at(1), maxWallClockMs: 1 })],
      allocations: [allocation('running', ['n1'], HOUR)],
      now: at(0),
      backfill: 'none',
    };
    assert.deepEqual(planAllocations(input).allocations, []);
  });

  test('a requeued job goes first in its class, but not ahead of a higher class', () => {
    const order = queueOrder([
      job('normal-old', { queuedAt: at(0) }),
      job('requeued', { queuedAt: at(50), requeuedAt: at(100) }),
      job('high', { priority: 'high', queuedAt: at(99) }),
    ]).map((j) => j.jobId);
    assert.deepEqual(order, ['high', 'requeued', 'normal-old']);
  });

  test('nodes that are unusable or leaving do not count towards the shadow time', () => {
    const plan = planAllocations({
      nodes: [...idle('n1'), { nodeId: 'n2', state: 'unusable' }],
      queue: [job('head', { nodeCount: 2 })],
      allocations: [allocation('running', ['n2'], HOUR)],
      now: at(0),
    });
    assert.equal(plan.reservation?.shadowTime, null);
  });
});

describe('the scheduling document', () => {
  const CLUSTER = '/subscriptions/s/resourceGroups/r/providers/Microsoft.BatchAI/workspaces/w/clusters/c';

  test('enqueue is idempotent, also once the job holds nodes', () => {
    let doc = enqueue(emptySchedule(CLUSTER), job('a'));
    assert.equal(enqueue(doc, job('a')), doc);
    doc = schedulePass(doc, idle('n1'), at(1)).doc;
    assert.equal(doc.allocations.length, 1);
    assert.equal(enqueue(doc, job('a')), doc);
  });

  test('a pass moves started jobs from the queue to allocations with their deadline', () => {
    const doc = enqueue(enqueue(emptySchedule(CLUSTER), job('a', { nodeCount: 2 })), job('b', { queuedAt: at(1) }));
    const pass = schedulePass(doc, idle('n1', 'n2', 'n3'), at(10));
    assert.deepEqual(
      pass.started.map((a) => [a.jobId, a.nodeIds, a.deadline]),
      [
        ['a', ['n1', 'n2'], at(10 + HOUR)],
        ['b', ['n3'], at(10 + HOUR)],
      ],
    );
    assert.deepEqual(pass.doc.queue, []);
  });

  test('requeue releases the nodes and puts the next attempt first in its class', () => {
    let doc: ClusterSchedule = emptySchedule(CLUSTER);
    doc = enqueue(doc, job('a', { queuedAt: at(5) }));
    doc = schedulePass(doc, idle('n1'), at(6)).doc;
    doc = enqueue(doc, job('b', { queuedAt: at(1) }));
    doc = requeue(doc, 'a', 1, at(7));
    assert.deepEqual(doc.allocations, []);
    assert.deepEqual(
      queueOrder(doc.queue).map((q) => [q.jobId, q.attempt]),
      [
        ['a', 2],
        ['b', 1],
      ],
    );
    assert.equal(requeue(doc, 'a', 1, at(8)), doc, 'a stale requeue (old attempt) is a no-op');
  });

  test('release frees the nodes once; a late release of an older attempt leaves the new one alone', () => {
    let doc = schedulePass(enqueue(emptySchedule(CLUSTER), job('a')), idle('n1'), at(1)).doc;
    doc = requeue(doc, 'a', 1, at(2));
    doc = schedulePass(doc, idle('n1'), at(3)).doc;
    assert.equal(doc.allocations[0]?.attempt, 2);
    assert.equal(release(doc, 'a', 1), doc);
    const released = release(doc, 'a', 2);
    assert.deepEqual(released.allocations, []);
    assert.equal(release(released, 'a'), released);
  });

  test('release of a queued job (terminated or deleted before it started) removes it from the queue', () => {
    const doc = enqueue(emptySchedule(CLUSTER), job('a'));
    assert.deepEqual(release(doc, 'a').queue, []);
  });

  test('the document survives a JSON round trip through its schema; a corrupt one is refused', () => {
    let doc = enqueue(emptySchedule(CLUSTER), job('a', { nodeCount: 2 }));
    doc = enqueue(doc, job('b', { queuedAt: at(1), requeuedAt: at(2) }));
    doc = schedulePass(doc, idle('n1', 'n2'), at(3)).doc;
    const parsed = clusterScheduleSchema.parse(JSON.parse(JSON.stringify(doc)));
    assert.deepEqual(parsed, doc);
    const corrupt = { ...doc, allocations: [{ ...doc.allocations[0], deadline: 'tomorrow' }] };
    assert.equal(clusterScheduleSchema.safeParse(corrupt).success, false);
  });

  test('a stored job enters the queue with its class, gang size, creation time and wall-clock limit', () => {
    const v = validateJobCreate({
      properties: {
        cluster: { id: CLUSTER_ID },
        nodeCount: 3,
        schedulingPriority: 'High',
        stdOutErrPathPrefix: '/x',
        customToolkitSettings: { commandLine: 'true' },
        constraints: { maxWallClockTime: 'PT2H' },
      },
    });
    assert.ok(v.ok, JSON.stringify(v));
    const id = {
      kind: 'job' as const,
      subscriptionId: SUB,
      resourceGroup: 'r',
      workspace: 'w',
      experiment: 'e',
      job: 'j',
    };
    const record = newJobRecord({ id, uid: 'u', properties: v.value, now: at(5) });
    assert.deepEqual(queuedJobFrom(record), {
      jobId: `/subscriptions/${SUB}/resourceGroups/r/providers/Microsoft.BatchAI/workspaces/w/experiments/e/jobs/j`,
      attempt: 1,
      priority: 'high',
      nodeCount: 3,
      queuedAt: at(5),
      maxWallClockMs: 2 * HOUR,
    });
  });

  test('applying a stale plan never gives a node twice', () => {
    const doc = enqueue(enqueue(emptySchedule(CLUSTER), job('a')), job('b', { queuedAt: at(1) }));
    const planA = planAllocations({ nodes: idle('n1'), queue: [doc.queue[0]!], allocations: [], now: at(2) });
    const planB = planAllocations({ nodes: idle('n1'), queue: [doc.queue[1]!], allocations: [], now: at(2) });
    const afterA = applyPlan(doc, planA, at(2));
    const afterBoth = applyPlan(afterA, planB, at(2));
    assert.equal(afterBoth, afterA, 'b was planned on n1, which a holds now: skipped');
    assert.deepEqual(
      afterBoth.allocations.map((a) => a.jobId),
      ['a'],
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties

const NODE_STATES: SchedulerNodeState[] = ['idle', 'idle', 'idle', 'running', 'preparing', 'unusable', 'leaving'];

const scenario = fc
  .record({
    nodeCount: fc.integer({ min: 0, max: 12 }),
    states: fc.array(fc.constantFrom(...NODE_STATES), { minLength: 12, maxLength: 12 }),
    holders: fc.array(
      fc.record({ size: fc.integer({ min: 1, max: 4 }), deadline: fc.integer({ min: -HOUR, max: 10 * HOUR }) }),
      { maxLength: 4 },
    ),
    jobs: fc.array(
      fc.record({
        priority: fc.constantFrom('low' as const, 'normal' as const, 'high' as const),
        nodeCount: fc.integer({ min: 1, max: 6 }),
        queuedAt: fc.integer({ min: 0, max: 20 }),
        maxWallClockMs: fc.integer({ min: 1, max: 12 * HOUR }),
        requeued: fc.boolean(),
      }),
      { maxLength: 30 },
    ),
    backfill: fc.constantFrom('easy' as const, 'none' as const),
  })
  .map(({ nodeCount, states, holders, jobs, backfill }): PlanInput => {
    const nodes = Array.from({ length: nodeCount }, (_, i) => ({
      nodeId: `node-${String(i).padStart(2, '0')}`,
      state: states[i]!,
    }));
    // Allocations hold disjoint nodes (what the document guarantees); some held nodes may report idle (stale).
    const allocations: Allocation[] = [];
    let next = 0;
    holders.forEach((h, i) => {
      const ids = nodes.slice(next, next + h.size).map((n) => n.nodeId);
      next += h.size;
      if (ids.length > 0) allocations.push(allocation(`running-${i}`, ids, h.deadline));
    });
    const queue = jobs.map((j, i) =>
      job(`job-${String(i).padStart(2, '0')}`, {
        priority: j.priority,
        nodeCount: j.nodeCount,
        queuedAt: at(j.queuedAt),
        maxWallClockMs: j.maxWallClockMs,
        ...(j.requeued ? { requeuedAt: at(30) } : {}),
      }),
    );
    return { nodes, allocations, queue, now: at(60), backfill };
  });

describe('planAllocations: properties', () => {
  test('no node is given twice, only idle free nodes are given, each job gets exactly its nodeCount', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const plan = planAllocations(input);
        const free = new Set(freeNodes(input.nodes, input.allocations));
        const given = plan.allocations.flatMap((a) => a.nodeIds);
        assert.equal(new Set(given).size, given.length, 'a node given twice');
        for (const id of given) assert.ok(free.has(id), `${id} is not an idle free node`);
        assert.ok(given.length <= free.size);
        const byId = new Map(input.queue.map((q) => [q.jobId, q]));
        for (const a of plan.allocations) assert.equal(a.nodeIds.length, byId.get(a.jobId)?.nodeCount);
        assert.equal(new Set(started(plan)).size, plan.allocations.length, 'a job started twice');
      }),
      { numRuns: 500 },
    );
  });

  test('order: jobs start in queue order up to the first that does not fit; later ones only as backfill', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const plan = planAllocations(input);
        const order = queueOrder(input.queue).map((q) => q.jobId);
        const planned = new Map(plan.allocations.map((a) => [a.jobId, a]));
        const firstBlocked = order.findIndex((id) => !planned.has(id));
        order.forEach((id, index) => {
          const a = planned.get(id);
          if (a === undefined) return;
          assert.equal(a.backfilled, firstBlocked >= 0 && index > firstBlocked, `${id} backfill flag`);
        });
        if (firstBlocked >= 0) assert.equal(plan.reservation?.jobId, order[firstBlocked]);
        else assert.equal(plan.reservation, undefined);
        if (input.backfill === 'none') assert.ok(plan.allocations.every((a) => !a.backfilled));
      }),
      { numRuns: 500 },
    );
  });

  test('backfill never delays the reserved job: enough nodes are certain to be free at its shadow time', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const plan = planAllocations(input);
        const r = plan.reservation;
        if (r === undefined || r.shadowTime === null) return;
        const shadow = Date.parse(r.shadowTime);
        const now = Date.parse(input.now);
        const lost = new Set(
          input.nodes.filter((n) => n.state === 'unusable' || n.state === 'leaving').map((n) => n.nodeId),
        );
        const wall = new Map(input.queue.map((q) => [q.jobId, q.maxWallClockMs]));
        // Who holds each node at the shadow time, recomputed independently of the planner.
        let freeAtShadow = freeNodes(input.nodes, input.allocations).length;
        freeAtShadow -= plan.allocations.reduce((n, a) => n + a.nodeIds.length, 0);
        for (const a of input.allocations) {
          if (Date.parse(a.deadline) <= shadow) freeAtShadow += a.nodeIds.filter((id) => !lost.has(id)).length;
        }
        for (const a of plan.allocations) {
          if (now + wall.get(a.jobId)! <= shadow) freeAtShadow += a.nodeIds.length;
        }
        const need = input.queue.find((q) => q.jobId === r.jobId)!.nodeCount;
        assert.ok(freeAtShadow >= need, `only ${freeAtShadow} of ${need} nodes free at the shadow time`);
      }),
      { numRuns: 500 },
    );
  });

  test('determinism: the same input in any order gives the same plan', () => {
    fc.assert(
      fc.property(scenario, fc.integer(), (input, seed) => {
        const shuffle = <T>(items: readonly T[]) =>
          items
            .map((item, i) => ({ item, key: (i * 2654435761 + seed) % 1000003 }))
            .sort((a, b) => a.key - b.key)
            .map((x) => x.item);
        const again = planAllocations({ ...input, queue: shuffle(input.queue), nodes: shuffle(input.nodes) });
        assert.deepEqual(again, planAllocations(input));
      }),
      { numRuns: 300 },
    );
  });

  test('the head is never starved: a reserved job starts by its shadow time, and every job that fits runs', () => {
    const workload = fc.record({
      nodes: fc.integer({ min: 1, max: 6 }),
      jobs: fc.array(
        fc.record({
          arrival: fc.integer({ min: 0, max: 50 }),
          priority: fc.constantFrom('low' as const, 'normal' as const, 'high' as const),
          nodeCount: fc.integer({ min: 1, max: 6 }),
          maxWall: fc.integer({ min: 1, max: 40 }),
          runFraction: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        { minLength: 1, maxLength: 25 },
      ),
      backfill: fc.constantFrom('easy' as const, 'none' as const),
    });
    fc.assert(
      fc.property(workload, ({ nodes: size, jobs, backfill }) => {
        const nodes = idle(...Array.from({ length: size }, (_, i) => `n${i}`));
        const specs = jobs
          .map((j, i) => ({ ...j, id: `job-${String(i).padStart(2, '0')}`, nodeCount: Math.min(j.nodeCount, size) }))
          .map((j) => ({ ...j, run: Math.max(1, Math.floor(j.maxWall * j.runFraction)) }));
        const entry = (s: (typeof specs)[number]) =>
          job(s.id, {
            priority: s.priority,
            nodeCount: s.nodeCount,
            queuedAt: at(s.arrival),
            maxWallClockMs: s.maxWall,
          });
        let doc = emptySchedule('c');
        const startAt = new Map<string, number>();
        const endAt = new Map<string, number>();
        const reservations: Array<{ jobId: string; shadow: number; time: number }> = [];
        for (let t = 0; t <= 5000 && endAt.size < specs.length; t++) {
          for (const [id, end] of endAt) if (end === t) doc = release(doc, id);
          for (const s of specs) if (s.arrival === t) doc = enqueue(doc, entry(s));
          const pass = schedulePass(doc, nodes, at(t), backfill);
          doc = pass.doc;
          for (const a of pass.started) {
            const s = specs.find((x) => x.id === a.jobId)!;
            startAt.set(a.jobId, t);
            endAt.set(a.jobId, t + s.run);
          }
          const r = pass.plan.reservation;
          if (r?.shadowTime && !startAt.has(r.jobId)) {
            reservations.push({ jobId: r.jobId, shadow: Date.parse(r.shadowTime) - BASE, time: t });
          }
        }
        for (const s of specs) assert.ok(startAt.has(s.id), `${s.id} never started`);
        for (const r of reservations) {
          const reserved = entry(specs.find((s) => s.id === r.jobId)!);
          // A job that arrived later and goes before it (a higher class) may legitimately take its place.
          const overtaken = specs.some((s) => s.arrival > r.time && compareQueued(entry(s), reserved) < 0);
          if (!overtaken) {
            assert.ok(startAt.get(r.jobId)! <= r.shadow, `${r.jobId} reserved for ${r.shadow} started later`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  test('a large queue (20,000 jobs) is planned in one pass that fills the cluster', () => {
    const queue = Array.from({ length: 20_000 }, (_, i) =>
      job(`job-${i}`, { nodeCount: 1 + (i % 4), queuedAt: at(i), priority: i % 3 === 0 ? 'high' : 'normal' }),
    );
    const nodes = idle(...Array.from({ length: 64 }, (_, i) => `n${i}`));
    const plan = planAllocations({ nodes, queue, allocations: [], now: at(30_000) });
    // Everything that could start did, and the pass stopped handing out nodes once none were left.
    assert.equal(
      plan.allocations.reduce((n, a) => n + a.nodeIds.length, 0),
      64,
    );
  });
});
