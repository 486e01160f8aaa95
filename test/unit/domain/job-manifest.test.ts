import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type JobManifestContext, normalizeJobManifest, validateJobCreate } from '../../../shared/domain/index.js';
import { assertAccepted, assertRejected } from './assertions.js';
import { CLUSTER_ID, minimalJob } from './fixtures.js';

// The recipes are copied into the repo (test/fixtures/recipes, MIT), unchanged, placeholders included.
const RECIPES = fileURLToPath(new URL('../../../../test/fixtures/recipes/', import.meta.url));
const recipes = readdirSync(RECIPES)
  .filter((f) => f.endsWith('.json'))
  .map((name) => ({ name, body: JSON.parse(readFileSync(join(RECIPES, name), 'utf8')) as unknown }));

const STORAGE = { name: 'jobfiles', key: 'am9iLWZpbGVzLWtleQ==' };
const OTHER_ID = CLUSTER_ID.replace('demo_cluster', 'Other_Cluster');
const one: JobManifestContext = { clusters: [{ name: 'demo_cluster', id: CLUSTER_ID }], storageAccount: STORAGE };
const two: JobManifestContext = {
  clusters: [
    { name: 'demo_cluster', id: CLUSTER_ID },
    { name: 'Other_Cluster', id: OTHER_ID },
  ],
  storageAccount: STORAGE,
};

function normalized(manifest: unknown, context: JobManifestContext) {
  const result = normalizeJobManifest(manifest, context);
  if (!result.ok) assert.fail(`rejected: ${result.reason}`);
  return result.value;
}

function withCluster(cluster: unknown) {
  const body = minimalJob();
  if (cluster === undefined) delete body.properties['cluster'];
  else body.properties['cluster'] = cluster;
  return body;
}

describe('job manifests as az batchai users write them', () => {
  test('the recipes are here', () => assert.equal(recipes.length, 5));

  for (const { name, body } of recipes) {
    test(`${name}, as published, runs on the only cluster with the configured storage`, () => {
      const job = assertAccepted(validateJobCreate(normalized(body, one)));
      assert.equal(job.cluster.id, CLUSTER_ID);
      const mounts = [...(job.mountVolumes?.azureFileShares ?? []), ...(job.mountVolumes?.azureBlobFileSystems ?? [])];
      assert.ok(mounts.length > 0);
      for (const m of mounts) {
        assert.equal(m.accountName, STORAGE.name);
        assert.equal(m.credentials.accountKey, STORAGE.key);
      }
      for (const share of job.mountVolumes?.azureFileShares ?? []) {
        assert.match(share.azureFileUrl, /^https:\/\/jobfiles\.file\.core\.windows\.net\//);
      }
    });
  }

  test('a manifest naming no cluster is rejected with the reason when the workspace has several or none', () => {
    const several = normalizeJobManifest(withCluster(undefined), two);
    assert.deepEqual(several.ok ? undefined : [several.target, several.reason], [
      'properties.cluster',
      "the manifest names no cluster and the workspace has 2 ('demo_cluster', 'Other_Cluster'); name one in properties.cluster",
    ]);
    const none = normalizeJobManifest(withCluster(null), { clusters: [] });
    assert.match(none.ok ? '' : none.reason, /the workspace has none; create a cluster first/);
  });

  test('the cluster may be given by name, in any of the forms people write, case-insensitively', () => {
    for (const form of ['other_cluster', { id: 'Other_Cluster' }, { name: 'OTHER_CLUSTER' }]) {
      const job = assertAccepted(validateJobCreate(normalized(withCluster(form), two)));
      assert.equal(job.cluster.id, OTHER_ID, JSON.stringify(form));
    }
  });

  test('an unknown cluster name is rejected naming the clusters there are', () => {
    const result = normalizeJobManifest(withCluster('gpu'), two);
    assert.match(result.ok ? '' : result.reason, /no cluster named 'gpu' \(it has 'demo_cluster', 'Other_Cluster'\)/);
  });

  test('a full cluster id is left as written (the submit path checks it is in the workspace)', () => {
    const foreign = CLUSTER_ID.replace('demo_workspace', 'elsewhere');
    const value = normalized(withCluster({ id: foreign }), two) as { properties: { cluster: unknown } };
    assert.deepEqual(value.properties.cluster, { id: foreign });
  });

  test('the configured key is never given to a mount of another account: that mount still needs its credentials', () => {
    const body = withCluster(undefined);
    body.properties['mountVolumes'] = {
      azureBlobFileSystems: [{ accountName: 'someoneelse', containerName: 'c', relativeMountPath: 'data' }],
    };
    const value = normalized(body, one);
    assertRejected(
      validateJobCreate(value),
      'properties.mountVolumes.azureBlobFileSystems[0].credentials',
      'MissingRequiredProperty',
    );
  });

  test('without a configured account, placeholders stay and validation reports the missing credentials', () => {
    const recipe = recipes.find((r) => r.name.startsWith('TensorFlow-GPU'))!;
    const value = normalized(recipe.body, { clusters: one.clusters });
    const result = validateJobCreate(value);
    assert.equal(result.ok, false);
  });

  test('what is not a job file at all is passed through for validation to report', () => {
    assert.deepEqual(normalized([1, 2], one), [1, 2]);
    assert.equal(normalized('text', one), 'text');
  });
});
