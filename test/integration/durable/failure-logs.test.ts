// A failed orchestration is logged with its real error (message and details), not as the durable-functions
// wrapper's text ("false\n", the orchestratorReturned flag before the $OutOfProcData$ label).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DurableClient } from 'durable-functions';
import { createDurableExtension } from '../../../local/durable/index.js';
import type { HostLogger } from '../../../local/functions-host/contracts.js';
import { type RunningHost, startHost } from '../../../local/functions-host/host.js';
import { clientFor, durableApp, tempDir, waitFor, waitForFinal } from './harness.js';

interface Entry {
  level: 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

describe('orchestration failure logs', () => {
  const entries: Entry[] = [];
  const log: HostLogger = {
    info: (msg, fields = {}) => entries.push({ level: 'info', msg, fields }),
    warn: (msg, fields = {}) => entries.push({ level: 'warn', msg, fields }),
    error: (msg, fields = {}) => entries.push({ level: 'error', msg, fields }),
  };
  let host: RunningHost;
  let client: DurableClient;
  before(async () => {
    const ext = createDurableExtension();
    host = await startHost({ appDir: durableApp, port: 0, dataDir: await tempDir('logs'), extensions: [ext], log });
    client = clientFor(ext);
  });
  after(async () => {
    await host.stop();
  });

  const failureOf = (instanceId: string) =>
    waitFor(`the failure log of ${instanceId}`, async () =>
      entries.find((e) => e.msg === 'durable: orchestration failed' && e.fields.instanceId === instanceId),
    );

  it('logs an orchestrator that throws with its message, in the backend and in the host', async () => {
    const id = await client.startNew('Failing');
    assert.equal((await waitForFinal(client, id)).runtimeStatus, 'Failed');
    const backend = await failureOf(id);
    assert.equal(backend.level, 'error');
    assert.match(String(backend.fields.error), /orchestrator exploded/);
    const hostLines = entries.filter(
      (e) => e.msg === 'Executed function' && e.fields.functionName === 'Failing' && e.fields.succeeded === false,
    );
    assert.equal(hostLines.length, 1, 'one failed episode');
    assert.equal(hostLines[0]?.fields.error, 'orchestrator exploded');
    for (const e of entries) assert.doesNotMatch(String(e.fields.error ?? ''), /^\s*false\s*$/);
  });

  it('logs an orchestration failed by an exhausted activity with the activity error and its stack', async () => {
    const id = await client.startNew('RetryActivity', {
      input: { key: 'log-never', failures: 100, maxAttempts: 2, firstRetryMs: 10 },
    });
    assert.equal((await waitForFinal(client, id)).runtimeStatus, 'Failed');
    const backend = await failureOf(id);
    assert.match(String(backend.fields.error), /flaky failure 2 for log-never/);
    assert.match(String(backend.fields.error), /at .*index\.js/, 'the activity stack travels in the error');
    const hostLine = entries.find(
      (e) => e.msg === 'Executed function' && e.fields.functionName === 'RetryActivity' && e.fields.succeeded === false,
    );
    assert.match(String(hostLine?.fields.error), /flaky failure 2 for log-never/);
  });
});
