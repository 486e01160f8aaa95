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
    // The rpc endpoint is on the host's internal listener, not on its public port.
    assert.match(data.rpcBaseUrl, /^http:\/\/127\.0\.0\.1:\d+\/durabletask\/$/);
    assert.notEqual(data.rpcBaseUrl, `${h.baseUrl}/durabletask/`);
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
    const raise = await fetch(
      `${h.baseUrl}/runtime/webhooks/durabletask/instances/${id}/raiseEvent/Never?${h.keyQuery}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '1',
      },
    );
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

  it('the keyless rpc endpoint is not on the public port; the public one needs the key, JSON bodies and no Origin', async () => {
    const data = JSON.parse(h.ext.inputBindingData({ type: 'durableClient', direction: 'in' }, 'x').json ?? '{}');
    const rpc = data.rpcBaseUrl as string;
    // Public port: the rpc prefix does not exist there.
    for (const path of ['instances/', 'orchestrators/HelloSequence', 'instances/x/terminate']) {
      const res = await fetch(`${h.baseUrl}/durabletask/${path}`, { method: path === 'instances/' ? 'GET' : 'POST' });
      assert.equal(res.status, 404, path);
      await res.arrayBuffer();
    }
    // Internal listener: keyless (the durable client's), and its answers never carry the system key.
    const started = await fetch(`${rpc}orchestrators/HelloSequence`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '""',
    });
    assert.equal(started.status, 202);
    const startedText = await started.text();
    const { id } = JSON.parse(startedText) as { id: string };
    const key = decodeURIComponent(h.keyQuery.replace(/^code=/, ''));
    assert.ok(key.length > 20);
    assert.ok(!startedText.includes(key), 'the rpc answer hands out the system key');
    assert.ok(!(started.headers.get('location') ?? '').includes(key));
    await waitForFinal(h.client, id);
    const listed = await fetch(`${rpc}instances/`);
    assert.equal(listed.status, 200);
    assert.ok(!(await listed.text()).includes(key));
    // Public webhooks: no key → 401; a form or text body (what a web page can send) → 415; an Origin → 403.
    const noKey = await fetch(`${h.baseUrl}/runtime/webhooks/durabletask/instances/`);
    assert.equal(noKey.status, 401);
    await noKey.arrayBuffer();
    const plain = await fetch(`${h.baseUrl}/runtime/webhooks/durabletask/orchestrators/HelloSequence?${h.keyQuery}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '"x"',
    });
    assert.equal(plain.status, 415);
    await plain.arrayBuffer();
    const rpcPlain = await fetch(`${rpc}orchestrators/HelloSequence`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    assert.equal(rpcPlain.status, 415);
    await rpcPlain.arrayBuffer();
    const fromPage = await fetch(`${rpc}instances/${id}/terminate`, {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    });
    assert.equal(fromPage.status, 403);
    await fromPage.arrayBuffer();
  });

  it('lists instances with paging (x-ms-continuation-token) and filters', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await h.client.startNew('HelloSequence'));
    for (const id of ids) await waitForFinal(h.client, id);
    const page = await fetch(`${h.baseUrl}/runtime/webhooks/durabletask/instances/?top=2&${h.keyQuery}`);
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
