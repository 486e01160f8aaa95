// The Durable HTTP API: the client's rpc routes and the public management routes (createCheckStatusResponse
// URLs, Azure status codes), terminate, suspend/resume, purge, paging, start conflicts, concurrency limits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DurableHost, startDurableHost, waitFor, waitForFinal, waitForStatus } from './harness.js';

interface CheckStatusPayload {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  purgeHistoryDeleteUri: string;
  suspendPostUri: string;
  resumePostUri: string;
}

describe('durable HTTP API and management', () => {
  let h: DurableHost;
  before(async () => {
    h = await startDurableHost();
  });
  after(async () => {
    await h.stop();
  });

  it('supplies durableClient binding data built from the host base URL and hub name', () => {
    const data = JSON.parse(h.ext.inputBindingData({ type: 'durableClient', direction: 'in' }, 'x').json ?? '{}');
    assert.equal(data.taskHubName, 'FixtureHub');
    assert.equal(data.rpcBaseUrl, `${h.baseUrl}/durabletask/`);
    assert.equal(data.baseUrl, `${h.baseUrl}/runtime/webhooks/durabletask`);
    assert.match(
      data.managementUrls.statusQueryGetUri,
      /\/runtime\/webhooks\/durabletask\/instances\/INSTANCEID\?taskHub=FixtureHub/,
    );
    assert.match(data.creationUrls.createNewInstancePostUri, /orchestrators\/\{functionName\}\[\/\{instanceId\}\]/);
  });

  it('HTTP starter + createCheckStatusResponse: a poller sees 202 + Location until 200 with the output', async () => {
    const res = await fetch(`${h.baseUrl}/api/orchestrators/WaitForEvent`, { method: 'POST', body: '' });
    assert.equal(res.status, 202);
    const payload = (await res.json()) as CheckStatusPayload;
    assert.equal(res.headers.get('location'), payload.statusQueryGetUri);
    assert.ok(payload.statusQueryGetUri.startsWith(h.baseUrl), payload.statusQueryGetUri);

    const running = await fetch(payload.statusQueryGetUri);
    assert.equal(running.status, 202);
    assert.ok(running.headers.get('location'));
    const body = (await running.json()) as { runtimeStatus: string; instanceId: string };
    assert.equal(body.instanceId, payload.id);
    assert.ok(['Pending', 'Running'].includes(body.runtimeStatus));

    const raise = await fetch(payload.sendEventPostUri.replace('{eventName}', 'Approval'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify('yes'),
    });
    assert.equal(raise.status, 202);
    const done = await waitFor('200 from the status URL', async () => {
      const r = await fetch(payload.statusQueryGetUri);
      if (r.status === 200) return r;
      await r.arrayBuffer();
      return undefined;
    });
    const final = (await done.json()) as { runtimeStatus: string; output: unknown };
    assert.equal(final.runtimeStatus, 'Completed');
    assert.deepEqual(final.output, { approved: 'yes' });
  });

  it('public routes need the system key; unknown instance → 404; failed → 400', async () => {
    const noKey = await fetch(`${h.baseUrl}/runtime/webhooks/durabletask/instances/nope`);
    assert.equal(noKey.status, 401);
    const unknown = await fetch(`${h.baseUrl}/runtime/webhooks/durabletask/instances/nope?${h.keyQuery}`);
    assert.equal(unknown.status, 404);
    await unknown.arrayBuffer();
    const id = await h.client.startNew('Failing');
    await waitForFinal(h.client, id);
    const failed = await fetch(`${h.baseUrl}/runtime/webhooks/durabletask/instances/${id}?${h.keyQuery}`);
    assert.equal(failed.status, 400);
    assert.equal(((await failed.json()) as { runtimeStatus: string }).runtimeStatus, 'Failed');
  });

  it('terminates a running instance (400 afterwards, events then get 410)', async () => {
    const id = await h.client.startNew('WaitForever');
    await waitForStatus(h.client, id, 'Running');
    await h.client.terminate(id, 'enough');
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Terminated');
    assert.equal(s.output, 'enough');
    const status = await fetch(`${h.baseUrl}/runtime/webhooks/durabletask/instances/${id}?${h.keyQuery}`);
    assert.equal(status.status, 400);
    await status.arrayBuffer();
    const raise = await fetch(`${h.baseUrl}/durabletask/instances/${id}/raiseEvent/Never`, {
      method: 'POST',
      body: '1',
    });
    assert.equal(raise.status, 410);
    await assert.rejects(h.client.terminate('no-such-instance', 'x'), /No instance/);
  });

  it('suspends and resumes; events raised while suspended wait for the resume', async () => {
    const id = await h.client.startNew('SuspendResume');
    await waitForStatus(h.client, id, 'Running');
    await h.client.suspend(id, 'pause');
    await waitForStatus(h.client, id, 'Suspended');
    await h.client.raiseEvent(id, 'Go', 'Oslo');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await h.client.getStatus(id)).runtimeStatus, 'Suspended');
    await h.client.resume(id, 'go on');
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Completed');
    assert.equal(s.output, 'Hello Oslo!');
  });

  it('rejects starting an instance id that is still running; restarts a finished one', async () => {
    const id = `fixed-${Date.now()}`;
    await h.client.startNew('WaitForever', { instanceId: id });
    await assert.rejects(h.client.startNew('WaitForever', { instanceId: id }), /409/);
    await h.client.terminate(id, 'done');
    await waitForFinal(h.client, id);
    assert.equal(await h.client.startNew('HelloSequence', { instanceId: id }), id);
    const s = await waitForFinal(h.client, id);
    assert.equal(s.runtimeStatus, 'Completed');
    assert.equal(s.name, 'HelloSequence');
  });

  it('purges finished instances (not running ones)', async () => {
    const id = await h.client.startNew('HelloSequence');
    await waitForFinal(h.client, id);
    const r = await h.client.purgeInstanceHistory(id);
    assert.equal(r.instancesDeleted, 1);
    await assert.rejects(h.client.getStatus(id), /404/);
    const running = await h.client.startNew('WaitForever');
    await assert.rejects(h.client.purgeInstanceHistory(running), /409/);
    await h.client.terminate(running, 'cleanup');
    await waitForFinal(h.client, running);
    const byFilter = await h.client.purgeInstanceHistoryBy({ runtimeStatus: ['Terminated' as never] });
    assert.ok(byFilter.instancesDeleted >= 1);
  });

  it('lists instances with paging (x-ms-continuation-token) and filters', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await h.client.startNew('HelloSequence'));
    for (const id of ids) await waitForFinal(h.client, id);
    const page = await fetch(`${h.baseUrl}/durabletask/instances/?top=2`);
    assert.equal(page.status, 200);
    assert.ok(page.headers.get('x-ms-continuation-token'));
    assert.equal(((await page.json()) as unknown[]).length, 2);
    const all = await h.client.getStatusBy({ runtimeStatus: ['Completed' as never] });
    for (const id of ids) assert.ok(all.some((s) => s.instanceId === id));
    assert.ok(all.every((s) => s.runtimeStatus === 'Completed'));
  });

  it('honours maxConcurrentActivityFunctions from host.json (8)', async () => {
    (globalThis as { __durableConcurrency?: unknown }).__durableConcurrency = { now: 0, max: 0 };
    const id = await h.client.startNew('SlowFanOut', { input: 40 });
    const s = await waitForFinal(h.client, id);
    assert.equal(s.output, 40);
    const c = (globalThis as { __durableConcurrency?: { max: number } }).__durableConcurrency!;
    assert.ok(c.max <= 8, `max concurrency ${c.max}`);
    assert.ok(c.max >= 4, `activities ran in parallel (${c.max})`);
  });
});
