import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { scheduledEventEmitted } from '../../../local/compute/events.js';
import {
  type AttemptFailure,
  backoffMs,
  clusterScheduleSchema,
  DEFAULT_INFRASTRUCTURE_RETRIES,
  decideRecovery,
  endBackoff,
  type FailureCounts,
  INFRASTRUCTURE_CODES,
  INFRASTRUCTURE_LIMIT_CODE,
  type InfrastructureCode,
  infrastructureCodeOf,
  jobView,
  newJobRecord,
  type PlanInput,
  parseBatchAiResourceIdOf,
  planAllocations,
  type QueuedJob,
  type RetryPolicy,
  requeue,
  retriesExitCode,
  type SchedulerNode,
  validateJobCreate,
} from '../../../shared/domain/index.js';
import { vmEventMeaning } from '../../../shared/domain/vm-events.js';
import { assertAccepted, assertRejected } from './assertions.js';
import { CLUSTER_ID, minimalJob } from './fixtures.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const SETTINGS = { limit: 3, backoffMs: 1_000, maxBackoffMs: 10_000 };
const infra = (code: InfrastructureCode): AttemptFailure => ({ kind: 'infrastructure', code, message: `m ${code}` });
const jobFailure = (exitCode: number | undefined): AttemptFailure => ({ kind: 'job', exitCode, message: 'exit' });
const decide = (failure: AttemptFailure, counts?: FailureCounts, policy?: RetryPolicy) =>
  decideRecovery({ failure, counts, policy, settings: SETTINGS, now: NOW });

describe('loss causes → attempt codes', () => {
  test('preemption annotations and the Preempt scheduled event are preemptions', () => {
    for (const cause of ['VirtualMachinePreempted', 'virtualmachinepreempted', 'Preempt']) {
      assert.equal(infrastructureCodeOf(cause), 'NodePreempted', cause);
    }
  });
  test('host crashes and repairs are host crashes', () => {
    for (const cause of [
      'VirtualMachineHostCrashed',
      'VirtualMachineHostRebootedForRepair',
      'VirtualMachineStorageOffline',
      'VirtualMachineMigrationInitiatedForRepair',
    ]) {
      assert.equal(infrastructureCodeOf(cause), 'NodeHostCrashed', cause);
    }
  });
  test('an unknown or absent cause (heartbeats lost, node gone, unavailable) is a lost node', () => {
    for (const cause of [undefined, '', 'the VM became unavailable', 'VirtualMachineProvisioningTimedOut']) {
      assert.equal(infrastructureCodeOf(cause), 'NodeLost', String(cause));
    }
  });
});

describe('VM events → the cause a lost node carries', () => {
  const scaleSetId = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/bai-abc';
  test('the Preempt scheduled event (before the VM stops) names its VM and the cause Preempt', () => {
    const event = scheduledEventEmitted({
      id: 'e1',
      now: new Date(NOW),
      subscriptionId: 's',
      scaleSetId,
      location: 'local',
      eventType: 'Preempt',
      resources: ['bai-abc_7'],
      notBefore: new Date(NOW + 30_000),
      durationInSeconds: -1,
    });
    const meaning = vmEventMeaning(event);
    assert.ok('signals' in meaning, JSON.stringify(meaning));
    const [loss] = meaning.signals;
    assert.deepEqual(
      { scaleSetName: loss?.scaleSetName, instanceId: loss?.instanceId, kind: loss?.kind, cause: loss?.cause },
      { scaleSetName: 'bai-abc', instanceId: '7', kind: 'lost', cause: 'Preempt' },
    );
    assert.equal(infrastructureCodeOf(loss?.cause), 'NodePreempted');
    const reboot = scheduledEventEmitted({
      ...{ id: 'e2', now: new Date(NOW), subscriptionId: 's', scaleSetId },
      location: 'local',
      eventType: 'Reboot',
      resources: ['bai-abc_7'],
      notBefore: new Date(NOW),
      durationInSeconds: 0,
    });
    assert.ok('ignored' in vmEventMeaning(reboot), 'a planned reboot is not a loss');
  });
});

describe('decideRecovery: infrastructure failures', () => {
  test('a preemption is requeued at once and never counted, however many came before', () => {
    fc.assert(
      fc.property(fc.nat(1_000), fc.nat(10), (infrastructure, job) => {
        const d = decide(infra('NodePreempted'), { infrastructure, job });
        assert.deepEqual(d, { action: 'requeue', countsAgainstCap: false, counts: { infrastructure, job } });
      }),
    );
  });
  test('nodes released by a resize are requeued at once and not counted', () => {
    const d = decide(infra('NodesReleased'), { infrastructure: 99, job: 0 });
    assert.equal(d.action, 'requeue');
    assert.equal(d.countsAgainstCap, false);
    assert.equal('notBefore' in d, false);
  });
  test('host crashes and lost nodes are counted, repeats backed off exponentially, and fail the job past the limit', () => {
    for (const code of ['NodeHostCrashed', 'NodeLost'] as const) {
      let counts: FailureCounts | undefined;
      const waits: number[] = [];
      for (let i = 1; i <= SETTINGS.limit; i++) {
        const d = decide(infra(code), counts);
        assert.equal(d.action, 'requeue', `${code} #${i}`);
        assert.equal(d.countsAgainstCap, true);
        assert.equal(d.counts.infrastructure, i);
        if (d.action === 'requeue') waits.push(d.notBefore === undefined ? 0 : d.notBefore - NOW);
        counts = d.counts;
      }
      assert.deepEqual(waits, [0, 1_000, 2_000], 'the first is retried at once, repeats wait longer each time');
      const last = decide(infra(code), counts);
      assert.equal(last.action, 'fail');
      if (last.action !== 'fail') return;
      assert.equal(last.error?.code, INFRASTRUCTURE_LIMIT_CODE);
      assert.match(last.error!.message, /4 times.*limit of 3.*m Node/);
      assert.deepEqual(last.error?.details?.[0], { name: 'lastFailure', value: code });
    }
  });
  test('preemptions between capped failures do not use up the cap', () => {
    let counts: FailureCounts | undefined;
    const sequence: InfrastructureCode[] = ['NodeHostCrashed', 'NodePreempted', 'NodePreempted', 'NodeLost'];
    for (const code of [...sequence, ...sequence]) {
      const d = decide(infra(code), counts);
      counts = d.counts;
    }
    assert.deepEqual(counts, { infrastructure: 4, job: 0 });
  });
  test('limit 0: the first capped failure fails the job', () => {
    const d = decideRecovery({
      failure: infra('NodeLost'),
      counts: undefined,
      policy: undefined,
      settings: { ...SETTINGS, limit: 0 },
      now: NOW,
    });
    assert.equal(d.action, 'fail');
  });
  test('the back-off doubles from its base and stops at its maximum', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 50].map((n) => backoffMs(n, SETTINGS)),
      [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000],
    );
    assert.equal(backoffMs(1, DEFAULT_INFRASTRUCTURE_RETRIES), DEFAULT_INFRASTRUCTURE_RETRIES.backoffMs);
  });
  test('every infrastructure code is decided (requeue or fail), never thrown on', () => {
    fc.assert(
      fc.property(fc.constantFrom(...INFRASTRUCTURE_CODES), fc.nat(20), (code, n) => {
        const d = decide(infra(code), { infrastructure: n, job: 0 });
        assert.ok(d.action === 'requeue' || d.action === 'fail');
        if (d.action === 'requeue' && d.notBefore !== undefined) assert.ok(d.notBefore > NOW);
      }),
    );
  });
});

describe('decideRecovery: the job own failures', () => {
  test('without a retry policy the job fails, as on Batch AI, and nothing is counted', () => {
    assert.deepEqual(decide(jobFailure(3)), {
      action: 'fail',
      countsAgainstCap: false,
      counts: { infrastructure: 0, job: 0 },
    });
  });
  test('retryOnExitCodes [3], maxRetries 2: exit 3 is retried twice, then the job fails', () => {
    const policy = { maxRetries: 2, retryOnExitCodes: [3] };
    let counts: FailureCounts | undefined;
    const actions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const d = decide(jobFailure(3), counts, policy);
      actions.push(d.action);
      counts = d.counts;
      assert.equal('notBefore' in d, false, 'a job retry has no back-off');
    }
    assert.deepEqual(actions, ['requeue', 'requeue', 'fail']);
    assert.deepEqual(counts, { infrastructure: 0, job: 2 });
  });
  test('an exit code the policy does not list, a signal or a launch error is not retried', () => {
    const policy = { maxRetries: 5, retryOnExitCodes: [3, 4] };
    assert.equal(decide(jobFailure(1), undefined, policy).action, 'fail');
    assert.equal(decide(jobFailure(undefined), undefined, policy).action, 'fail');
    assert.equal(decide(jobFailure(4), undefined, policy).action, 'requeue');
  });
  test('without retryOnExitCodes every non-zero exit code is retried', () => {
    fc.assert(
      fc.property(fc.integer({ min: -255, max: 255 }), (code) => {
        assert.equal(retriesExitCode({ maxRetries: 1 }, code), code !== 0);
      }),
    );
  });
  test('job retries and infrastructure failures are counted apart', () => {
    const policy = { maxRetries: 1 };
    const d = decide(jobFailure(2), { infrastructure: 3, job: 0 }, policy);
    assert.deepEqual(d.counts, { infrastructure: 3, job: 1 });
    const e = decide(infra('NodeLost'), { infrastructure: 2, job: 1 }, policy);
    assert.deepEqual(e.counts, { infrastructure: 3, job: 1 });
  });
});

describe('x-batchai-retryPolicy in the job schema', () => {
  const withPolicy = (policy: unknown) => {
    const body = minimalJob();
    body.properties['x-batchai-retryPolicy'] = policy;
    return validateJobCreate(body);
  };
  test('accepted, and shown back in the view', () => {
    const job = assertAccepted(withPolicy({ maxRetries: 2, retryOnExitCodes: [3, 137] }));
    assert.deepEqual(job['x-batchai-retryPolicy'], { maxRetries: 2, retryOnExitCodes: [3, 137] });
    const id = parseBatchAiResourceIdOf('job', `${CLUSTER_ID.split('/clusters/')[0]}/experiments/e/jobs/j`);
    assert.ok(id.ok);
    const view = jobView(newJobRecord({ id: id.value, uid: 'u', properties: job, now: '2026-01-01T00:00:00Z' }));
    assert.deepEqual(view.properties['x-batchai-retryPolicy'], { maxRetries: 2, retryOnExitCodes: [3, 137] });
  });
  test('absent: the job and its view are the 2018-05-01 shape', () => {
    const job = assertAccepted(validateJobCreate(minimalJob()));
    assert.equal('x-batchai-retryPolicy' in job, false);
  });
  test('malformed policies are rejected with the reason', () => {
    assertRejected(withPolicy({ maxRetries: 11 }), 'properties.x-batchai-retryPolicy.maxRetries');
    assertRejected(withPolicy({ maxRetries: -1 }), 'properties.x-batchai-retryPolicy.maxRetries');
    assertRejected(withPolicy({}), 'properties.x-batchai-retryPolicy.maxRetries');
    assertRejected(
      withPolicy({ maxRetries: 1, retryOnExitCodes: [] }),
      'properties.x-batchai-retryPolicy.retryOnExitCodes',
    );
    assertRejected(
      withPolicy({ maxRetries: 1, retryOnExitCodes: [0] }),
      'properties.x-batchai-retryPolicy.retryOnExitCodes[0]',
    );
    assertRejected(
      withPolicy({ maxRetries: 1, retryOnExitCodes: [1.5] }),
      'properties.x-batchai-retryPolicy.retryOnExitCodes[0]',
    );
    assertRejected(
      withPolicy({ maxRetries: 1, onExit: 'retry' }),
      'properties.x-batchai-retryPolicy.onExit',
      'UnknownProperty',
    );
    assertRejected(withPolicy('always'), 'properties.x-batchai-retryPolicy');
  });
});

describe('back-off in the scheduling pass', () => {
  const at = (ms: number) => new Date(NOW + ms).toISOString();
  const q = (id: string, patch: Partial<QueuedJob> = {}): QueuedJob => ({
    jobId: id,
    attempt: 1,
    priority: 'normal',
    nodeCount: 1,
    queuedAt: at(-60_000),
    maxWallClockMs: 3_600_000,
    ...patch,
  });
  const idle = (n: number): SchedulerNode[] =>
    Array.from({ length: n }, (_, i) => ({ nodeId: `n${i}`, state: 'idle' as const }));
  const plan = (input: Partial<PlanInput>) =>
    planAllocations({ nodes: idle(1), queue: [], allocations: [], now: at(0), ...input });

  test('a job in back-off does not start, and the job behind it takes the node', () => {
    const p = plan({
      queue: [q('a', { attempt: 2, requeuedAt: at(-1), notBefore: at(5_000) }), q('b')],
    });
    assert.deepEqual(
      p.allocations.map((a) => a.jobId),
      ['b'],
    );
  });
  test('a job in back-off is not the reserved job: it holds nothing back', () => {
    // Two nodes, the back-off job needs both: were it the head, EASY would only backfill jobs ending before shadow.
    const p = planAllocations({
      nodes: idle(2),
      queue: [q('big', { nodeCount: 3, requeuedAt: at(-1), notBefore: at(5_000) }), q('long', { nodeCount: 2 })],
      allocations: [],
      now: at(0),
    });
    assert.equal(p.reservation, undefined);
    assert.deepEqual(
      p.allocations.map((a) => a.jobId),
      ['long'],
    );
  });
  test('once its back-off has ended it starts first in its class again', () => {
    const queue = [q('b'), q('a', { attempt: 2, requeuedAt: at(-1), notBefore: at(5_000) })];
    assert.deepEqual(
      plan({ queue, now: at(5_000) }).allocations.map((a) => a.jobId),
      ['a'],
    );
  });
  test('requeue carries notBefore; endBackoff clears it for that attempt only; the document schema keeps it', () => {
    const doc = {
      clusterId: CLUSTER_ID,
      queue: [],
      allocations: [
        {
          jobId: 'j',
          attempt: 1,
          priority: 'normal' as const,
          nodeIds: ['n0'],
          startedAt: at(0),
          deadline: at(3_600_000),
          queuedAt: at(-60_000),
          nodeCount: 1,
          maxWallClockMs: 3_600_000,
          backfilled: false,
        },
      ],
    };
    const requeued = requeue(doc, 'j', 1, at(10), at(1_010));
    assert.equal(requeued.queue[0]?.notBefore, at(1_010));
    assert.equal(requeued.queue[0]?.attempt, 2);
    assert.ok(clusterScheduleSchema.safeParse(requeued).success);
    assert.equal(endBackoff(requeued, 'j', 1), requeued, 'a stale attempt changes nothing');
    const ended = endBackoff(requeued, 'j', 2);
    assert.equal(ended.queue[0]?.notBefore, undefined);
    assert.equal(endBackoff(ended, 'j', 2), ended, 'a repeat changes nothing');
    assert.equal(requeue(doc, 'j', 1, at(10)).queue[0]?.notBefore, undefined);
  });
  test('property: jobs in back-off never start; every other job is planned as if they were absent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ nodeCount: fc.integer({ min: 1, max: 3 }), backoff: fc.boolean() }), { maxLength: 8 }),
        fc.integer({ min: 0, max: 6 }),
        (jobs, nodes) => {
          const queue = jobs.map((j, i) =>
            q(`j${i}`, { nodeCount: j.nodeCount, ...(j.backoff ? { notBefore: at(1_000), requeuedAt: at(-1) } : {}) }),
          );
          const withBackoff = plan({ nodes: idle(nodes), queue });
          const without = plan({ nodes: idle(nodes), queue: queue.filter((x) => x.notBefore === undefined) });
          assert.deepEqual(withBackoff, without);
        },
      ),
    );
  });
});
