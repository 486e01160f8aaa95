import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jobIdFromManifestName } from '../../../functions/blob/submit-job-manifest.js';
import { MAX_DEQUEUE_COUNT } from '../../../functions/queue/submit-job-from-queue.js';
import { ApiError } from '../../../shared/domain/api-errors.js';

const scope = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'rg' };

test("the queue handler's last try matches host.json's maxDequeueCount", () => {
  const hostJson = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../host.json', import.meta.url)), 'utf8'));
  assert.equal(MAX_DEQUEUE_COUNT, hostJson.extensions.queues.maxDequeueCount);
});

test('manifest names map to job ids in the deployment scope', () => {
  assert.deepEqual(jobIdFromManifestName('ws/exp/job-1.json', scope), {
    kind: 'job',
    ...scope,
    workspace: 'ws',
    experiment: 'exp',
    job: 'job-1',
  });
});

test('manifest names that are not {workspace}/{experiment}/{job}.json are refused with the reason', () => {
  for (const name of ['job.json', 'ws/exp/job.txt', 'ws/exp/sub/job.json', 'ws/bad name/job.json', 'ws/exp/.json']) {
    assert.throws(
      () => jobIdFromManifestName(name, scope),
      (err: unknown) => err instanceof ApiError && err.status === 400 && err.message.length > 0,
      name,
    );
  }
});
