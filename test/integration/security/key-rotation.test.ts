import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SecretBox } from '../../../shared/secrets/secret-box.js';
import { BatchAiApi } from '../../support/api-client.js';
import { cosmosClient, startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';

// Rotating the stack's sealing key loses nothing: what the old key sealed still opens (a PATCH of a cluster opens
// its stored secrets), a repeated PUT is still recognised, and new values are sealed with the new key.

const CLI = fileURLToPath(new URL('../../../local/cli.js', import.meta.url));
const dirs: string[] = [];
const stacks: TestStack[] = [];
after(async () => {
  for (const s of stacks) await s.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const keyIdsIn = (text: string) => new Set([...text.matchAll(/sealed:v2:([A-Za-z0-9_-]+):/g)].map((m) => m[1]));

async function storedText(stack: TestStack): Promise<string> {
  const { resources } = await cosmosClient(stack.descriptor)
    .database(stack.descriptor.cosmos.database)
    .container('resources')
    .items.readAll()
    .fetchAll();
  return JSON.stringify(resources);
}

test('rotate-secrets-key: old values still open, repeated PUTs still match, new values use the new key', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'batchai-rotation-'));
  dirs.push(dataDir);
  const first = await startTestStack({ dataDir });
  stacks.push(first);
  const api = new BatchAiApi(first.descriptor);
  const jobBody = (clusterId: string) => ({
    properties: {
      cluster: { id: clusterId },
      nodeCount: 1,
      stdOutErrPathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/logs',
      customToolkitSettings: { commandLine: 'echo' },
      secrets: [{ name: 'TOKEN', value: 'before-rotation-s3cret' }],
    },
  });
  let clusterId = '';
  await withServiceOutput(first, async () => {
    clusterId = await api.seedWorkspace('ws');
    const put = await api.call('PUT', api.jobPath('ws', 'exp', 'old'), { body: jobBody(clusterId) });
    assert.equal(put.status, 202, put.text);
  });
  const [oldKey] = (await readFile(join(dataDir, 'secrets.key'), 'utf8')).trim().split('\n');
  const oldId = new SecretBox(Buffer.from(oldKey!, 'base64')).currentKeyId;
  assert.deepEqual(keyIdsIn(await storedText(first)), new Set([oldId]));
  await first.stop();

  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'rotate-secrets-key', '--data-dir', dataDir]);
  assert.match(stdout, /new secrets key .* \(2 kept\)/);
  const keys = (await readFile(join(dataDir, 'secrets.key'), 'utf8')).trim().split('\n');
  assert.equal(keys.length, 2);
  assert.equal(keys[1], oldKey, 'the old key is kept, after the new one');
  assert.equal((await stat(join(dataDir, 'secrets.key'))).mode & 0o777, 0o600);
  const newId = new SecretBox(Buffer.from(keys[0]!, 'base64')).currentKeyId;

  const second = await startTestStack({ dataDir });
  stacks.push(second);
  const api2 = new BatchAiApi(second.descriptor);
  await withServiceOutput(second, async () => {
    // The same job again is recognised as the same (its fingerprint survived the rotation).
    const again = await api2.call('PUT', api2.jobPath('ws', 'exp', 'old'), { body: jobBody(clusterId) });
    assert.equal(again.status, 200, again.text);
    // Updating the cluster opens its stored secrets (sealed with the old key) to fingerprint the new body.
    const patch = await api2.call('PATCH', `${api2.workspacePath('ws')}/clusters/c1`, {
      body: { properties: { scaleSettings: { manual: { targetNodeCount: 1 } } } },
    });
    assert.equal(patch.status, 200, patch.text);
    const fresh = await api2.call('PUT', api2.jobPath('ws', 'exp', 'new'), { body: jobBody(clusterId) });
    assert.equal(fresh.status, 202, fresh.text);
    const ids = keyIdsIn(await storedText(second));
    assert.ok(ids.has(newId), 'new values are sealed with the new key');
    assert.ok(ids.has(oldId), 'values sealed before stay as they were until rewritten');
    assert.ok(!(await storedText(second)).includes('before-rotation-s3cret'));
  });
});
