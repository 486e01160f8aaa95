// Episode planning alone: from the engine's answer to the plan the episode commits, numbering tasks the
// way the replay engine does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type EngineEpisode,
  type EpisodePlan,
  freshRuntime,
  newEpisodePlan,
  type PlanContext,
  planFromEngine,
  planTermination,
  readEngineOutcome,
} from '../../../local/durable/episode-plan.js';
import { ActionType, EventType, makeEvent, type OrchestratorState } from '../../../local/durable/history.js';
import type { InstanceRow, InstanceRuntime } from '../../../local/durable/sqlite-store.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const ts = new Date(NOW).toISOString();
let ids = 0;
const ctx: PlanContext = {
  resolveOrchestrator: (n) => (n.toLowerCase() === 'child' ? 'Child' : n),
  newExecutionId: () => `x${++ids}`,
};

function plan(runtime: InstanceRuntime = { ...freshRuntime(), started: true }, parent = false): EpisodePlan {
  const row: InstanceRow = {
    instanceId: 'i',
    name: 'Orch',
    executionId: 'e1',
    status: 'Running',
    input: null,
    output: null,
    customStatus: null,
    createdAt: NOW,
    lastUpdatedAt: NOW,
    parentInstanceId: parent ? 'p' : null,
    parentExecutionId: parent ? 'pe' : null,
    parentTaskId: parent ? 4 : null,
    runtime,
  };
  return newEpisodePlan(row, runtime, NOW);
}

function episode(state: OrchestratorState | undefined, extra: Partial<EngineEpisode> = {}): EngineEpisode {
  return {
    historyChunks: [],
    episodeEvents: [makeEvent(EventType.OrchestratorStarted, ts)],
    newEvents: [],
    retryEvent: undefined,
    outcome: { state },
    now: NOW,
    ...extra,
  };
}

test('new actions are numbered in order (compound actions depth-first) and only once', () => {
  const p = plan();
  const actions = [
    [
      {
        actionType: ActionType.WhenAll,
        compoundActions: [
          { actionType: ActionType.CallActivity, functionName: 'A', input: 1 },
          { actionType: ActionType.CreateTimer, fireAt: new Date(NOW + 5000).toISOString(), isCanceled: false },
        ],
      },
      { actionType: ActionType.CallSubOrchestrator, functionName: 'child', input: { n: 1 } },
    ],
  ];
  planFromEngine(p, ctx, episode({ isDone: false, actions }));
  assert.deepEqual(
    p.activities.map((a) => [a.taskId, a.name, a.input]),
    [[0, 'A', '1']],
  );
  assert.deepEqual(
    p.timers.map((t) => [t.timerId, t.fireAt]),
    [[1, NOW + 5000]],
  );
  assert.equal(p.children[0]?.row.instanceId, 'i:2');
  assert.equal(p.children[0]?.row.name, 'Child', 'the registered name');
  assert.equal(p.row.runtime.nextSeq, 3);
  assert.equal(p.row.runtime.actionsProcessed, 2);
  assert.deepEqual(
    p.append.map((e) => e.EventType),
    [
      EventType.OrchestratorStarted,
      EventType.TaskScheduled,
      EventType.TimerCreated,
      EventType.SubOrchestrationInstanceCreated,
      EventType.OrchestratorCompleted,
    ],
  );

  // The same cumulative actions again (a replay that scheduled nothing new) schedule nothing.
  const again = plan(p.row.runtime);
  planFromEngine(again, ctx, episode({ isDone: false, actions }));
  assert.deepEqual([again.activities, again.timers, again.children], [[], [], []]);
});

test('done: Completed with the output, timers dropped, the parent told', () => {
  const p = plan(undefined, true);
  planFromEngine(p, ctx, episode({ isDone: true, actions: [[]], output: { ok: 1 } }));
  assert.equal(p.row.status, 'Completed');
  assert.equal(p.row.output, '{"ok":1}');
  assert.equal(p.deleteTimers, true);
  assert.deepEqual(p.messages[0], {
    instanceId: 'p',
    executionId: 'pe',
    event: makeEvent(EventType.SubOrchestrationInstanceCompleted, ts, { TaskScheduledId: 4, Result: '{"ok":1}' }),
  });
});

test('failed: Failed with the engine error, the failure kept for the log, the parent told', () => {
  const p = plan(undefined, true);
  planFromEngine(
    p,
    ctx,
    episode(undefined, { outcome: { state: undefined, failure: 'boom' }, failureDetails: 'at x' }),
  );
  assert.equal(p.row.status, 'Failed');
  assert.equal(JSON.parse(p.row.output ?? ''), "Orchestrator function 'Orch' failed: boom");
  assert.deepEqual(p.failure, { message: 'boom', details: 'at x' });
  assert.equal(p.messages[0]?.event.EventType, EventType.SubOrchestrationInstanceFailed);
});

test('an unsupported action (entities, callHttp) fails the orchestration with a clear message', () => {
  const p = plan();
  planFromEngine(p, ctx, episode({ isDone: false, actions: [[{ actionType: ActionType.CallEntity }]] }));
  assert.equal(p.row.status, 'Failed');
  assert.match(p.failure?.message ?? '', /not supported by the local backend/);
});

test('a failed attempt of a retried activity schedules the retry timer, and its firing the next attempt', () => {
  const retry = {
    options: { firstRetryIntervalInMilliseconds: 100, maxNumberOfAttempts: 3, backoffCoefficient: 2 },
    attempt: 1,
    firstAttemptAt: NOW,
  };
  const runtime: InstanceRuntime = { started: true, nextSeq: 1, actionsProcessed: 1, pending: {} };
  const failedTask = { kind: 'activity' as const, name: 'A', input: '1', retry };
  const p = plan(runtime);
  const failed = makeEvent(EventType.TaskFailed, ts, { TaskScheduledId: 0, Reason: 'boom', Details: 'd' });
  planFromEngine(
    p,
    ctx,
    episode(
      { isDone: false, actions: [[{ actionType: ActionType.CallActivityWithRetry }]] },
      { retryEvent: { event: failed, task: failedTask } },
    ),
  );
  assert.deepEqual(
    p.timers.map((t) => [t.timerId, t.fireAt]),
    [[1, NOW + 100]],
  );
  const timerTask = p.row.runtime.pending[1];
  assert.equal(timerTask?.kind, 'retryTimer');

  const next = plan(p.row.runtime);
  const fired = makeEvent(EventType.TimerFired, ts, { TimerId: 1 });
  planFromEngine(
    next,
    ctx,
    episode(
      { isDone: false, actions: [[{ actionType: ActionType.CallActivityWithRetry }]] },
      { retryEvent: { event: fired, task: timerTask! } },
    ),
  );
  assert.deepEqual(
    next.activities.map((a) => [a.taskId, a.name]),
    [[2, 'A']],
  );
  const attempt = next.row.runtime.pending[2];
  assert.equal(attempt?.kind === 'activity' && attempt.retry?.attempt, 2);
});

test('continueAsNew: a new execution with the new input; unwaited raised events are carried over', () => {
  const p = plan();
  const raised = makeEvent(EventType.EventRaised, ts, { Name: 'ping', Input: '1' });
  const waited = makeEvent(EventType.EventRaised, ts, { Name: 'go', Input: '2' });
  planFromEngine(
    p,
    ctx,
    episode(
      {
        isDone: true,
        actions: [
          [
            { actionType: ActionType.WaitForExternalEvent, externalEventName: 'go' },
            { actionType: ActionType.ContinueAsNew, input: { n: 2 } },
          ],
        ],
      },
      { historyChunks: [JSON.stringify(waited)], newEvents: [raised] },
    ),
  );
  assert.equal(p.row.status, 'ContinuedAsNew');
  assert.equal(p.row.input, '{"n":2}');
  assert.notEqual(p.row.executionId, 'e1');
  assert.equal(p.resetHistory, true);
  assert.deepEqual(
    p.messages.map((m) => [m.event.EventType, m.event.Name, m.executionId]),
    [
      [EventType.ExecutionStarted, 'Orch', p.row.executionId],
      [EventType.EventRaised, 'ping', null],
    ],
  );
});

test('terminate: Terminated with the reason, pending work dropped, the parent told', () => {
  const p = plan(undefined, true);
  planTermination(p, [makeEvent(EventType.ExecutionTerminated, ts, { Input: 'stop' })], 'stop', ts);
  assert.equal(p.row.status, 'Terminated');
  assert.equal(p.row.output, '"stop"');
  assert.equal(p.deleteActivities && p.deleteTimers, true);
  assert.match(p.messages[0]?.event.Reason ?? '', /was terminated: stop/);
});

test("the engine's answer: a returned state, a thrown one, or nothing usable", () => {
  assert.deepEqual(readEngineOutcome({ ok: true, returnValue: { json: '{"isDone":true,"actions":[]}' } }), {
    state: { isDone: true, actions: [] },
  });
  assert.match(readEngineOutcome({ ok: true, returnValue: { json: 'nope' } }).failure ?? '', /no orchestration state/);
  const thrown = new Error('false\n\n$OutOfProcData$:{"isDone":false,"actions":[[]],"error":"bad input"}');
  assert.equal(readEngineOutcome({ ok: false, error: thrown }).failure, 'bad input');
});

test('continueAsNew carries an event raised just before it even when Task.any put its wait out twice (durable-js#574)', () => {
  // A job's queued phase: Task.any([allocated, terminate, back-off timer]); the timer wins, an activity runs, and
  // the next Task.any puts the same two open waits out again. `allocated` comes and is taken; the attempt ends and,
  // just before the generation continues as new, the next attempt's `allocated` is raised. It must be carried.
  const wait = (name: string) => ({ actionType: ActionType.WaitForExternalEvent, externalEventName: name });
  const any = (...compoundActions: object[]) => ({ actionType: ActionType.WhenAny, compoundActions });
  const timer = { actionType: ActionType.CreateTimer, fireAt: ts, isCanceled: false };
  const episodes = [
    { actions: [[any(wait('allocated'), wait('terminate'), timer)]], events: [] as string[] },
    {
      actions: [[any(wait('allocated'), wait('terminate'), timer)], [{ actionType: ActionType.CallActivity }]],
      events: [],
    },
    {
      actions: [
        [any(wait('allocated'), wait('terminate'), timer)],
        [{ actionType: ActionType.CallActivity }],
        [any(wait('allocated'), wait('terminate'))],
      ],
      events: [],
    },
    {
      actions: [
        [any(wait('allocated'), wait('terminate'), timer)],
        [{ actionType: ActionType.CallActivity }],
        [any(wait('allocated'), wait('terminate'))],
        [{ actionType: ActionType.ContinueAsNew, input: { attempt: 2 } }],
      ],
      events: ['allocated', 'allocated'],
    },
  ];
  let runtime: InstanceRuntime = { ...freshRuntime(), started: true };
  let p: EpisodePlan | undefined;
  const history: string[] = [];
  for (const [i, e] of episodes.entries()) {
    p = plan(runtime);
    const newEvents = e.events.map((name, n) => makeEvent(EventType.EventRaised, ts, { Name: name, Input: `${n}` }));
    planFromEngine(
      p,
      ctx,
      episode(
        { isDone: i === episodes.length - 1, actions: e.actions as OrchestratorState['actions'] },
        { historyChunks: [...history], newEvents },
      ),
    );
    history.push(...newEvents.map((ev) => JSON.stringify(ev)));
    runtime = p.row.runtime;
  }
  assert.equal(p!.row.status, 'ContinuedAsNew');
  const carried = p!.messages.filter((m) => m.event.EventType === EventType.EventRaised);
  assert.deepEqual(
    carried.map((m) => [m.event.Name, m.event.Input]),
    [['allocated', '1']],
    'the first allocated was taken by the open wait; the second is carried',
  );
});
