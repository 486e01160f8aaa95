import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type Allocation,
  type ClusterSchedule,
  clusterScheduleSchema,
  type QueuedJob,
  queueOrder,
  type SchedulerNode,
  type StagedJob,
  schedulePass,
} from '../../../shared/domain/scheduling.js';
import {
  addStaged,
  cancelStaged,
  holdUntilStopped,
  markUnstageable,
  promotedOf,
  resolveUnstaged,
  stagedOf,
  stagingPass,
  withdrawStaged,
} from '../../../shared/domain/staging.js';

const BASE = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(BASE + ms).toISOString();
const HOUR = 3_600_000;
const NOW = at(10_000);

function job(id: string, patch: Partial<QueuedJob> = {}): QueuedJob {
  return { jobId: id, attempt: 1, priority: 'normal', nodeCount: 1, queuedAt: at(0), maxWallClockMs: HOUR, ...patch };
}

function allocation(id: string, nodeIds: string[], startedMs = 0): Allocation {
  return {
    jobId: id,
    attempt: 1,
    priority: 'normal',
    nodeIds,
    startedAt: at(startedMs),
    deadline: at(startedMs + HOUR),
    queuedAt: at(0),
    nodeCount: nodeIds.length,
    maxWallClockMs: HOUR,
    backfilled: false,
  };
}

const running = (...ids: string[]): SchedulerNode[] =>
  ids.map((nodeId) => ({ nodeId, state: 'running', bootId: 'b1' }));

function staged(j: QueuedJob, nodeId: string, behind: string, patch: Partial<StagedJob> = {}): StagedJob {
  return {
    ...j,
    nodeId,
    bootId: 'b1',
    behind: { jobId: behind, attempt: 1 },
    stagedAt: at(5_000),
    phase: 'run',
    taskIds: [`uid-${j.jobId}.master`],
    ...patch,
  };
}

/** Stages every candidate as a pass would once their commands are built. */
function stageAll(doc: ClusterSchedule, nodes: SchedulerNode[], now = NOW): ReturnType<typeof stagingPass> {
  const pass = stagingPass(doc, nodes, now);
  const built = pass.candidates.map((c) => ({
    ...c.job,
    nodeId: c.nodeId,
    bootId: c.bootId,
    behind: c.behind,
    stagedAt: now,
    phase: 'run' as const,
    taskIds: [`uid-${c.job.jobId}.master`],
  }));
  return { ...pass, doc: addStaged(pass.doc, built) };
}

describe('stagingPass: examples', () => {
  test('the next jobs in queue order are staged one per busy node, oldest holder first', () => {
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [job('j3', { queuedAt: at(3) }), job('j1', { queuedAt: at(1) }), job('j2', { queuedAt: at(2) })],
      allocations: [allocation('a', ['n1'], 200), allocation('b', ['n2'], 100)],
    };
    const { candidates } = stagingPass(doc, running('n1', 'n2'), NOW);
    assert.deepEqual(
      candidates.map((c) => [c.job.jobId, c.nodeId, c.behind.jobId]),
      [
        ['j1', 'n2', 'b'],
        ['j2', 'n1', 'a'],
      ],
    );
  });

  test('staging stops at a gang job: nothing is staged past it', () => {
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [
        job('j1', { queuedAt: at(1) }),
        job('gang', { queuedAt: at(2), nodeCount: 2 }),
        job('j3', { queuedAt: at(3) }),
      ],
      allocations: [allocation('a', ['n1']), allocation('b', ['n2'])],
    };
    assert.deepEqual(
      stagingPass(doc, running('n1', 'n2'), NOW).candidates.map((c) => c.job.jobId),
      ['j1'],
    );
  });

  test('a job in back-off is skipped; an unstageable one stops the walk', () => {
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [
        job('waiting', { queuedAt: at(1), notBefore: at(60_000) }),
        job('j2', { queuedAt: at(2) }),
        job('odd', { queuedAt: at(3), unstageable: true }),
        job('j4', { queuedAt: at(4) }),
      ],
      allocations: [allocation('a', ['n1']), allocation('b', ['n2']), allocation('c', ['n3'])],
    };
    assert.deepEqual(
      stagingPass(doc, running('n1', 'n2', 'n3'), NOW).candidates.map((c) => c.job.jobId),
      ['j2'],
    );
  });

  test('only healthy nodes of a known boot that an allocation holds are staged on', () => {
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [job('j1'), job('j2', { queuedAt: at(1) }), job('j3', { queuedAt: at(2) })],
      allocations: [allocation('a', ['n1']), allocation('b', ['n2']), allocation('c', ['n3'])],
    };
    const nodes: SchedulerNode[] = [
      { nodeId: 'n1', state: 'leaving', bootId: 'b1' },
      { nodeId: 'n2', state: 'running' },
      { nodeId: 'n3', state: 'unusable', bootId: 'b1' },
      { nodeId: 'n4', state: 'running', bootId: 'b1' },
    ];
    assert.deepEqual(stagingPass(doc, nodes, NOW).candidates, []);
  });

  test("nothing is staged behind a retried attempt (its task ids are the earlier attempt's too)", () => {
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [job('j1'), job('j2', { queuedAt: at(1) })],
      allocations: [{ ...allocation('a', ['n1']), attempt: 2 }, allocation('b', ['n2'])],
    };
    assert.deepEqual(
      stagingPass(doc, running('n1', 'n2'), NOW).candidates.map((c) => [c.job.jobId, c.nodeId]),
      [['j1', 'n2']],
    );
  });

  test('a job arriving ahead of a staged one in queue order makes the last staged one be asked back', () => {
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [job('urgent', { priority: 'high', queuedAt: at(9) })],
      allocations: [allocation('a', ['n1']), allocation('b', ['n2'])],
      staged: [staged(job('s1', { queuedAt: at(1) }), 'n1', 'a'), staged(job('s2', { queuedAt: at(2) }), 'n2', 'b')],
    };
    const pass = stagingPass(doc, running('n1', 'n2'), NOW);
    assert.deepEqual(
      pass.revoked.map((s) => s.jobId),
      ['s2'],
    );
    assert.deepEqual(pass.candidates, [], 'its node is free for the urgent job only once the agent answers');
    assert.equal(pass.doc.staged?.find((s) => s.jobId === 's2')?.revoke, 'requeue');
    // The agent dropped it: back to the queue (not to be staged again), and the urgent job takes the node.
    const answered = resolveUnstaged(pass.doc, { jobId: 's2', attempt: 1, nodeId: 'n2', outcome: 'dropped' });
    assert.equal(answered.queue.find((q) => q.jobId === 's2')?.unstageable, true);
    const next = stagingPass(answered, running('n1', 'n2'), NOW);
    assert.deepEqual(
      next.candidates.map((c) => [c.job.jobId, c.nodeId]),
      [['urgent', 'n2']],
    );
  });

  test('an asked-back job the agent had started runs on, and is promoted once its holder is gone', () => {
    const s2 = staged(job('s2'), 'n2', 'b', { revoke: 'requeue' });
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [],
      allocations: [allocation('b', ['n2'])],
      staged: [s2],
    };
    const answered = resolveUnstaged(doc, { jobId: 's2', attempt: 1, nodeId: 'n2', outcome: 'started' });
    assert.equal(answered.staged?.[0]?.started, true);
    assert.equal(answered.staged?.[0]?.revoke, undefined);
    const held = stagingPass(answered, running('n2'), NOW);
    assert.deepEqual(held.promoted, [], 'not while its holder still holds the node');
    const released = stagingPass({ ...answered, allocations: [] }, running('n2'), NOW);
    assert.deepEqual(
      released.promoted.map((p) => p.allocation.jobId),
      ['s2'],
    );
    assert.deepEqual(released.doc.staged, []);
  });

  test('a staged job is promoted once no allocation holds its node, even if the node was lost meanwhile', () => {
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [],
      allocations: [],
      staged: [staged(job('s1'), 'n1', 'a'), staged(job('s2'), 'n2', 'b')],
    };
    const nodes: SchedulerNode[] = [
      { nodeId: 'n1', state: 'running', bootId: 'b1' },
      { nodeId: 'n2', state: 'preparing', bootId: 'b2' },
    ];
    const pass = stagingPass(doc, nodes, NOW);
    assert.deepEqual(
      pass.promoted.map((p) => [p.allocation.jobId, p.allocation.nodeIds[0], p.allocation.fromStaging?.bootId]),
      [
        ['s1', 'n1', 'b1'],
        ['s2', 'n2', 'b1'],
      ],
    );
    assert.equal(pass.promoted[0]!.allocation.startedAt, NOW);
  });

  test('a staged job on a node a resize asked back is asked back, even once its holder is gone', () => {
    const doc: ClusterSchedule = { clusterId: 'c', queue: [], allocations: [], staged: [staged(job('s1'), 'n1', 'a')] };
    const pass = stagingPass(doc, [{ nodeId: 'n1', state: 'leaving', bootId: 'b1' }], NOW);
    assert.deepEqual(pass.promoted, []);
    assert.deepEqual(
      pass.revoked.map((s) => [s.jobId, s.revoke]),
      [['s1', 'requeue']],
    );
  });

  test('a cancelled staged job holds its node until the agent answers, or until its node is gone', () => {
    const doc: ClusterSchedule = { clusterId: 'c', queue: [], allocations: [], staged: [staged(job('s1'), 'n1', 'a')] };
    const { doc: cancelled, cancelled: asked } = cancelStaged(doc, 'S1');
    assert.deepEqual(
      asked.map((s) => s.revoke),
      ['cancel'],
    );
    assert.equal(cancelStaged(cancelled, 's1').cancelled.length, 0, 'asked once');
    const waiting = stagingPass(cancelled, running('n1'), NOW);
    assert.deepEqual(waiting.promoted, []);
    assert.equal(waiting.doc.staged?.length, 1);
    assert.deepEqual(
      schedulePass({ ...waiting.doc, queue: [job('next')] }, [{ nodeId: 'n1', state: 'idle', bootId: 'b1' }], NOW)
        .started,
      [],
      'its node is not free',
    );
    const answered = resolveUnstaged(cancelled, { jobId: 's1', attempt: 1, nodeId: 'n1', outcome: 'started' });
    assert.deepEqual(answered.staged, []);
    assert.deepEqual(answered.queue, [], 'a cancelled job does not go back to the queue');
    const gone = stagingPass(cancelled, [{ nodeId: 'n1', state: 'preparing', bootId: 'b2' }], NOW);
    assert.deepEqual(
      gone.dropped.map((s) => s.jobId),
      ['s1'],
    );
    assert.deepEqual(gone.doc.staged, []);
  });

  test('a job promoted from staging and terminated holds its node until its task is stopped', () => {
    const promoted = promotedOf(staged(job('s1'), 'n1', 'a'), NOW);
    const doc = holdUntilStopped({ clusterId: 'c', queue: [], allocations: [] }, [promoted]);
    assert.deepEqual(
      doc.staged?.map((s) => [s.jobId, s.nodeId, s.revoke, s.taskIds[0]]),
      [['s1', 'n1', 'cancel', 'uid-s1.master']],
    );
  });

  test('an allocation promoted from staging gives back what was staged, its phase read from older documents', () => {
    const prepared = staged(job('s1'), 'n1', 'a', { phase: 'prepare', taskIds: ['uid-s1.jobprep-0'] });
    const promoted = promotedOf(prepared, NOW);
    assert.equal(clusterScheduleSchema.safeParse({ clusterId: 'c', queue: [], allocations: [promoted] }).success, true);
    const back = stagedOf(promoted)!;
    assert.deepEqual(
      [back.jobId, back.attempt, back.nodeId, back.bootId, back.stagedAt, back.phase, back.taskIds],
      ['s1', 1, 'n1', 'b1', prepared.stagedAt, 'prepare', ['uid-s1.jobprep-0']],
    );
    // Written before the phase was recorded: preparation tasks are the jobprep-<i> ones.
    const { phase: _p, ...older } = promoted.fromStaging!;
    assert.equal(stagedOf({ ...promoted, fromStaging: older })?.phase, 'prepare');
    const run = promotedOf(staged(job('s2'), 'n1', 'a'), NOW);
    const { phase: _r, ...olderRun } = run.fromStaging!;
    assert.equal(stagedOf({ ...run, fromStaging: olderRun })?.phase, 'run');
    assert.equal(stagedOf(allocation('a', ['n1'])), undefined, 'an ordinary allocation was never staged');
  });

  test('stale answers, stale candidates and withdrawn commands change nothing they should not', () => {
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [job('q')],
      allocations: [allocation('a', ['n1'])],
      staged: [staged(job('s1'), 'n1', 'a')],
    };
    assert.equal(resolveUnstaged(doc, { jobId: 's1', attempt: 1, nodeId: 'n1', outcome: 'dropped' }), doc);
    assert.equal(resolveUnstaged(doc, { jobId: 'other', attempt: 1, nodeId: 'n1', outcome: 'dropped' }), doc);
    // A candidate for an occupied node, or for a job no longer queued, is not added.
    assert.equal(addStaged(doc, [staged(job('q'), 'n1', 'a')]), doc);
    assert.equal(addStaged(doc, [staged(job('gone'), 'n2', 'a')]), doc);
    const withdrawn = withdrawStaged(doc, doc.staged![0]!);
    assert.deepEqual(withdrawn.staged, []);
    assert.equal(withdrawn.queue.find((q) => q.jobId === 's1')?.unstageable, true);
    assert.equal(markUnstageable(doc, 'q', 1).queue[0]?.unstageable, true);
    assert.equal(markUnstageable(doc, 'q', 2), doc);
  });

  test('a staged job holds its node in a plan, and pushes back the shadow time of a gang by its own limit', () => {
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [job('gang', { nodeCount: 2, queuedAt: at(5) })],
      allocations: [allocation('a', ['n1'], 0)],
      staged: [staged(job('s1', { maxWallClockMs: 2 * HOUR }), 'n1', 'a')],
    };
    const nodes: SchedulerNode[] = [
      { nodeId: 'n1', state: 'running', bootId: 'b1' },
      { nodeId: 'n2', state: 'idle', bootId: 'b1' },
    ];
    const pass = schedulePass(doc, nodes, NOW);
    assert.deepEqual(pass.started, []);
    assert.equal(pass.plan.reservation?.shadowTime, at(HOUR + 2 * HOUR));
  });

  test('the document with staged jobs survives its schema; one written before staging reads as none', () => {
    const doc: ClusterSchedule = {
      clusterId: 'c',
      queue: [],
      allocations: [{ ...allocation('a', ['n1']), fromStaging: { bootId: 'b', stagedAt: NOW, taskIds: ['u.master'] } }],
      staged: [staged(job('s1'), 'n1', 'a', { revoke: 'cancel' })],
    };
    assert.deepEqual(clusterScheduleSchema.parse(JSON.parse(JSON.stringify(doc))), doc);
    assert.equal(clusterScheduleSchema.parse({ clusterId: 'c', queue: [], allocations: [] }).staged, undefined);
  });
});

describe('stagingPass: properties', () => {
  const arbitraryDoc = fc
    .record({
      nodes: fc.integer({ min: 1, max: 6 }),
      busy: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
      queue: fc.array(
        fc.record({
          priority: fc.constantFrom('high' as const, 'normal' as const, 'low' as const),
          nodeCount: fc.constantFrom(1, 1, 1, 2),
          queuedAt: fc.integer({ min: 0, max: 100 }),
          backoff: fc.boolean(),
        }),
        { maxLength: 12 },
      ),
      stagedPrefix: fc.integer({ min: 0, max: 6 }),
    })
    .map(({ nodes, busy, queue, stagedPrefix }) => {
      const ids = Array.from({ length: nodes }, (_, i) => `n${i}`);
      const allocations = ids.filter((_, i) => busy[i]).map((id, i) => allocation(`a${i}`, [id], i));
      const jobs = queue.map((q, i) =>
        job(`j${i}`, {
          priority: q.priority,
          nodeCount: q.nodeCount,
          queuedAt: at(q.queuedAt),
          ...(q.backoff && i % 3 === 0 ? { notBefore: at(HOUR) } : {}),
        }),
      );
      // Some single-node jobs already staged, on busy nodes, whatever their place in the order.
      const staged_: StagedJob[] = [];
      const rest: QueuedJob[] = [];
      for (const j of jobs) {
        const holder = allocations[staged_.length];
        if (staged_.length < stagedPrefix && holder && j.nodeCount === 1 && j.notBefore === undefined) {
          staged_.push(staged(j, holder.nodeIds[0]!, holder.jobId));
        } else rest.push(j);
      }
      const doc: ClusterSchedule = { clusterId: 'c', queue: rest, allocations, staged: staged_ };
      const schedulerNodes: SchedulerNode[] = ids.map((nodeId) => ({
        nodeId,
        state: allocations.some((a) => a.nodeIds.includes(nodeId)) ? 'running' : 'idle',
        bootId: 'b1',
      }));
      return { doc, nodes: schedulerNodes };
    });

  test('after a pass and the agents answering, the open staged jobs are a prefix of the queue order', () => {
    fc.assert(
      fc.property(arbitraryDoc, ({ doc, nodes }) => {
        let current = schedulePass(doc, nodes, NOW).doc;
        // Passes until nothing changes, the agents dropping every job asked back.
        for (let i = 0; i < 10; i++) {
          const pass = stageAll(current, nodes);
          let next = pass.doc;
          for (const r of pass.revoked) {
            next = resolveUnstaged(next, { jobId: r.jobId, attempt: r.attempt, nodeId: r.nodeId, outcome: 'dropped' });
          }
          if (JSON.stringify(next) === JSON.stringify(current)) break;
          current = next;
        }
        const open = (current.staged ?? []).filter((s) => !s.revoke && !s.started);
        const eligible = current.queue.filter((q) => q.notBefore === undefined);
        const order = queueOrder([...open, ...eligible]);
        const stagedIds = new Set(open.map((s) => s.jobId));
        // Every open staged job comes before every queued job that could have been staged in its place.
        const firstUnstaged = order.findIndex((j) => !stagedIds.has(j.jobId));
        if (firstUnstaged >= 0) {
          for (const j of order.slice(firstUnstaged)) assert.ok(!stagedIds.has(j.jobId), `${j.jobId} overtook`);
        }
        // One staged job per node, only on nodes an allocation holds, never a node holding two.
        const nodesUsed = (current.staged ?? []).map((s) => s.nodeId);
        assert.equal(new Set(nodesUsed).size, nodesUsed.length);
        const heldByAllocations = current.allocations.flatMap((a) => a.nodeIds);
        assert.equal(new Set(heldByAllocations).size, heldByAllocations.length);
        for (const s of current.staged ?? []) assert.equal(s.nodeCount, 1);
        // No job is both staged and queued or allocated.
        const everywhere = [
          ...current.queue.map((q) => q.jobId),
          ...current.allocations.map((a) => a.jobId),
          ...(current.staged ?? []).map((s) => s.jobId),
        ];
        assert.equal(new Set(everywhere).size, everywhere.length);
      }),
      { numRuns: 300 },
    );
  });

  test('promotion never gives a node to two allocations', () => {
    fc.assert(
      fc.property(arbitraryDoc, fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), ({ doc, nodes }, ends) => {
        // Some holders end (their allocations released), then a pass runs.
        const allocations = doc.allocations.filter((_, i) => !ends[i]);
        const pass = stagingPass({ ...doc, allocations }, nodes, NOW);
        const held = pass.doc.allocations.flatMap((a) => a.nodeIds);
        assert.equal(new Set(held).size, held.length);
        for (const { allocation: a } of pass.promoted) {
          assert.ok(!allocations.some((x) => x.nodeIds.includes(a.nodeIds[0]!)), 'promoted onto a held node');
        }
      }),
      { numRuns: 300 },
    );
  });
});
