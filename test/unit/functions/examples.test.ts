import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { completeJobFile, validateClusterCreate, validateJobCreate } from '../../../shared/domain/index.js';

// The samples people copy must be accepted by the API as they are (recipes once their placeholders are filled).

const EXAMPLES = fileURLToPath(new URL('../../../../examples/', import.meta.url));
const read = (path: string) => JSON.parse(readFileSync(join(EXAMPLES, path), 'utf8'));
const CLUSTER_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/batchai-local/providers/Microsoft.BatchAI/workspaces/demo/clusters/c1';

test('the sample cluster, job and queue message are valid requests', () => {
  const cluster = validateClusterCreate(read('cluster.json'));
  assert.ok(cluster.ok, JSON.stringify(cluster));
  const job = validateJobCreate(read('job.json'));
  assert.ok(job.ok, JSON.stringify(job));
  const { id, ...body } = read('queue-message.json');
  assert.match(id, /\/jobs\/from-queue$/);
  const queued = validateJobCreate(body);
  assert.ok(queued.ok, JSON.stringify(queued));
});

test('every recipe is a valid job once its placeholders and cluster are filled in, and keeps its licence', () => {
  const files = readdirSync(join(EXAMPLES, 'recipes')).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 5, files.join(', '));
  assert.match(readFileSync(join(EXAMPLES, 'recipes', 'LICENSE'), 'utf8'), /MIT License/);
  for (const file of files) {
    const text = readFileSync(join(EXAMPLES, 'recipes', file), 'utf8').replace(
      /<AZURE_BATCHAI_STORAGE_ACCOUNT>/g,
      'acct',
    );
    const body = completeJobFile(JSON.parse(text), {
      clusterId: CLUSTER_ID,
      storageAccount: { name: 'acct', key: 'a2V5' },
    });
    const result = validateJobCreate(body);
    assert.ok(result.ok, `${file}: ${JSON.stringify(result)}`);
  }
});
