// loadFunctionApp in-process (one app per test process, as in the host): registrations are captured
// through the injected @azure/functions-core (the library must not fall back to test mode), and the
// invoker drives durable-functions' real handlers the way the Durable extension will: activity,
// orchestrator replay and the durableClient input supplied by the owning extension.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { orchestrationTrigger } from '../../../local/durable/orchestration-trigger.js';
import type {
  BindingMetadata,
  ExtensionHttpResponse,
  HostExtension,
  RpcTypedData,
} from '../../../local/functions-host/contracts.js';
import { loadFunctionApp } from '../../../local/functions-host/load-app.js';
import { repoRoot } from './harness.js';

const clientBindingRequests: { binding: BindingMetadata; functionName: string }[] = [];

const fakeDurable: HostExtension = {
  name: 'durable',
  triggerTypes: ['orchestrationTrigger', 'activityTrigger'],
  inputBindingTypes: ['durableClient'],
  httpPathPrefixes: ['/runtime/webhooks/durabletask/'],
  async start() {},
  inputBindingData(binding: BindingMetadata, functionName: string): RpcTypedData {
    clientBindingRequests.push({ binding, functionName });
    return {
      json: JSON.stringify({
        taskHubName: 'FixtureHub',
        creationUrls: {},
        managementUrls: {},
        baseUrl: 'http://127.0.0.1:1/runtime/webhooks/durabletask',
        requiredQueryStringParameters: '',
        rpcBaseUrl: 'http://127.0.0.1:1/durabletask/',
      }),
    };
  },
  async handleHttp(): Promise<ExtensionHttpResponse> {
    return { status: 404 };
  },
  async stop() {},
};

test('loads a durable-functions app: registrations captured, no test mode, extension-owned types accepted', async () => {
  const warnings: string[] = [];
  const originalWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
  };
  let app: Awaited<ReturnType<typeof loadFunctionApp>>;
  try {
    app = await loadFunctionApp(join(repoRoot, 'test/fixtures/host-app-durable'), { extensions: [fakeDurable] });
  } finally {
    console.warn = originalWarn;
  }
  assert.deepEqual(
    warnings.filter((w) => /test mode/i.test(w)),
    [],
  );
  assert.deepEqual(app.functions.map((f) => [f.name, f.trigger.binding.type]).sort(), [
    ['helloSequence', 'orchestrationTrigger'],
    ['sayHello', 'activityTrigger'],
    ['startHello', 'httpTrigger'],
  ]);
  assert.deepEqual(app.hostJson.extensions, { durableTask: { hubName: 'FixtureHub' } });

  // Activity: the trigger input is the activity input as JSON; the handler's return is the returnValue.
  const activity = await app.invoker.invoke('sayHello', { json: JSON.stringify('Tokyo') });
  assert.deepEqual(activity, { ok: true, returnValue: { string: 'Hello, Tokyo!' } });

  // Orchestrator: first episode schedules the first activity.
  const now = new Date().toISOString();
  const payload = orchestrationTrigger(
    [
      { EventType: 12, EventId: -1, IsPlayed: false, Timestamp: now },
      { EventType: 0, EventId: -1, IsPlayed: false, Timestamp: now, Name: 'helloSequence', Input: null, Version: '' },
    ],
    { instanceId: 'instance-1', inputJson: null, isReplaying: false, parentInstanceId: null },
  );
  const episode = await app.invoker.invoke('helloSequence', { json: JSON.stringify(payload) });
  assert.equal(episode.ok, true);
  const state = JSON.parse((episode.ok && episode.returnValue?.json) || '{}') as {
    isDone: boolean;
    actions: { actionType: number; functionName: string; input: unknown }[][];
  };
  assert.equal(state.isDone, false);
  assert.equal(state.actions.flat()[0]?.functionName, 'sayHello');

  // HTTP function with a durableClient input: data comes from the extension that owns the type.
  const http = await app.invoker.invoke('startHello', {
    http: {
      method: 'GET',
      url: 'http://127.0.0.1/api/start',
      headers: {},
      params: {},
      body: { bytes: Buffer.alloc(0) },
    },
  });
  assert.equal(http.ok, true);
  const rpc = (http.ok ? http.returnValue?.http : undefined) as { statusCode: string; body: { bytes: Uint8Array } };
  assert.equal(rpc.statusCode, '200');
  assert.deepEqual(JSON.parse(Buffer.from(rpc.body.bytes).toString('utf8')), { taskHubName: 'FixtureHub' });
  assert.equal(clientBindingRequests.length, 1);
  assert.equal(clientBindingRequests[0]?.functionName, 'startHello');
  assert.equal(clientBindingRequests[0]?.binding.type, 'durableClient');

  // Unknown function → ok: false, not a throw.
  const missing = await app.invoker.invoke('nope', { string: '' });
  assert.equal(missing.ok, false);
});
