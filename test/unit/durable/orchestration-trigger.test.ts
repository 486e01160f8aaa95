// The one builder of the orchestrationTrigger payload, checked against the real durable-functions replay
// engine: what it builds is what the engine accepts, from events and from history text alike.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { OrchestrationContext } from 'durable-functions';
import { EventType, makeEvent } from '../../../local/durable/history.js';
import { orchestrationTrigger, orchestrationTriggerJson } from '../../../local/durable/orchestration-trigger.js';

const require = createRequire(import.meta.url);
const { Orchestrator } = require('durable-functions/lib/src/orchestrations/Orchestrator.js') as {
  Orchestrator: new (
    fn: unknown,
  ) => {
    listen(): (
      trigger: unknown,
      context: unknown,
    ) => Promise<{ isDone: boolean; actions: unknown[][]; output?: unknown }>;
  };
};
const { DummyOrchestrationContext } = require('durable-functions/lib/src/util/testingUtils.js') as {
  DummyOrchestrationContext: new (name?: string, id?: string, log?: () => void) => unknown;
};

function* greet(context: OrchestrationContext): Generator<unknown, string, string> {
  const who = context.df.getInput() as { name: string };
  const seen = { id: context.df.instanceId, parent: context.df.parentInstanceId ?? null };
  const hello: string = yield context.df.callActivity('SayHello', who.name);
  return `${hello} (${seen.id}, parent ${String(seen.parent)})`;
}

const ts = '2026-01-01T00:00:00.000Z';
const run = (trigger: unknown) =>
  new Orchestrator(greet).listen()(trigger, new DummyOrchestrationContext('greet', 'i-1', () => {}));

test('the first episode: the engine reads the input and schedules the activity', async () => {
  const history = [
    makeEvent(EventType.OrchestratorStarted, ts),
    makeEvent(EventType.ExecutionStarted, ts, { Name: 'greet' }),
  ];
  const state = await run(
    orchestrationTrigger(history, {
      instanceId: 'i-1',
      inputJson: '{"name":"Tokyo"}',
      isReplaying: false,
      parentInstanceId: null,
    }),
  );
  assert.equal(state.isDone, false);
  assert.deepEqual(
    state.actions.flat().map((a) => (a as { functionName: string; input: unknown }).input),
    ['"Tokyo"'], // the engine pre-serializes string inputs
  );
});

test('a replay with the completion finishes with the output; instance and parent ids reach the context', async () => {
  const history = [
    { ...makeEvent(EventType.OrchestratorStarted, ts), IsPlayed: true },
    { ...makeEvent(EventType.ExecutionStarted, ts, { Name: 'greet' }), IsPlayed: true },
    { ...makeEvent(EventType.TaskScheduled, ts, { EventId: 0, Name: 'SayHello' }), IsPlayed: true },
    { ...makeEvent(EventType.OrchestratorCompleted, ts), IsPlayed: true },
    makeEvent(EventType.OrchestratorStarted, ts),
    makeEvent(EventType.TaskCompleted, ts, { TaskScheduledId: 0, Result: '"Hello Tokyo!"' }),
  ];
  const fields = { instanceId: 'i-1', inputJson: '{"name":"Tokyo"}', isReplaying: true, parentInstanceId: 'p-9' };
  const state = await run(orchestrationTrigger(history, fields));
  assert.equal(state.isDone, true);
  assert.equal(state.output, 'Hello Tokyo! (i-1, parent p-9)');
});

test('text and event builders agree; no input leaves the field out', () => {
  const history = [makeEvent(EventType.OrchestratorStarted, ts)];
  const fields = { instanceId: 'a"b', inputJson: null, isReplaying: false, parentInstanceId: null };
  const fromText = JSON.parse(orchestrationTriggerJson(JSON.stringify(history[0]), fields)) as Record<string, unknown>;
  assert.deepEqual(orchestrationTrigger(history, fields), fromText);
  assert.equal('input' in fromText, false);
  assert.equal(fromText.instanceId, 'a"b');
  assert.equal(fromText.upperSchemaVersionNew, 2);
});
