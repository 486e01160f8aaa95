import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  clusterView,
  collectSecretValues,
  EMPTY_NODE_STATE_COUNTS,
  experimentView,
  fileServerView,
  jobOutputDirectoryPathSegment,
  jobView,
  newClusterRecord,
  newFileServerRecord,
  newJobRecord,
  parseBatchAiResourceIdOf,
  validateClusterCreate,
  validateFileServerCreate,
  validateJobCreate,
  workspaceView,
} from '../../../shared/domain/index.js';
import { assertAccepted } from './assertions.js';
import { CLUSTER_ID, fullCluster, fullFileServer, fullJob, marker, SUB } from './fixtures.js';
import { clone, exampleResponse, readExample } from './reference-data.js';

type Provisioning = { creationTime: string; provisioningState: 'succeeded'; provisioningStateTransitionTime: string };

const UID = '00000000-0000-0000-0000-000000000000';
const NOW = '2017-09-27T23:36:52.611Z';

function idOf<K extends 'job' | 'cluster' | 'fileServer' | 'workspace' | 'experiment'>(kind: K, id: string) {
  const parsed = parseBatchAiResourceIdOf(kind, id);
  if (!parsed.ok) assert.fail(parsed.reason);
  return parsed.value;
}

describe('job view', () => {
  test('matches GetJob.json where the example follows the spec', () => {
    const expected = exampleResponse('GetJob');
    const put = clone(readExample('PutJob').parameters.parameters) as { properties: Record<string, unknown> };
    delete put.properties['priority'];
    put.properties['cluster'] = { id: CLUSTER_ID };
    const record = {
      ...newJobRecord({
        id: idOf('job', expected.id),
        uid: UID,
        properties: assertAccepted(validateJobCreate(put)),
        now: NOW,
      }),
      provisioningState: 'succeeded' as const,
      provisioningStateTransitionTime: '2017-09-27T23:36:53.701Z',
      executionState: 'running' as const,
      executionStateTransitionTime: '2017-09-27T23:36:56.395Z',
      executionInfo: { startTime: '2017-09-27T23:36:54.115Z' },
    };
    const view = jobView(record);
    assert.equal(view.id, expected.id);
    assert.equal(view.name, expected.name);
    // The examples disagree with each other ("Microsoft.BatchAI/Jobs", ".../Job"); this is what the service returned.
    assert.equal(view.type, 'Microsoft.BatchAI/workspaces/experiments/jobs');
    const { priority, cluster: _oldStyleClusterId, ...comparable } = expected.properties;
    assert.equal(view.properties['schedulingPriority'], priority);
    assert.deepEqual(view.properties, { ...comparable, schedulingPriority: 'normal', cluster: { id: CLUSTER_ID } });
  });

  test('jobOutputDirectoryPathSegment has the service layout', () => {
    const id = idOf(
      'job',
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w/experiments/e/jobs/j`,
    );
    assert.equal(jobOutputDirectoryPathSegment(id, 'u-1'), `${SUB}/rg/workspaces/w/experiments/e/jobs/j/u-1`);
  });

  test('keeps secret references and names but never secret values', () => {
    const body = fullJob(marker);
    const props = assertAccepted(validateJobCreate(body));
    const id = idOf('job', `${CLUSTER_ID.replace(/clusters\/.*/, '')}experiments/e/jobs/j`);
    const view = jobView(newJobRecord({ id, uid: UID, properties: props, now: NOW }));
    const text = JSON.stringify(view);
    const secrets = collectSecretValues(body);
    assert.equal(secrets.length, 4, 'the fixture carries four secret values');
    for (const secret of secrets) assert.ok(!text.includes(secret), `view leaks ${secret}`);
    const p = view.properties as ReturnType<typeof fullJob>['properties'];
    assert.deepEqual(p.secrets, [{ name: 'API_TOKEN' }, body.properties.secrets[1]]);
    assert.deepEqual(p.mountVolumes.azureFileShares[0]?.credentials, {});
    assert.deepEqual(
      p.mountVolumes.azureBlobFileSystems[1]?.credentials,
      body.properties.mountVolumes.azureBlobFileSystems[1]?.credentials,
    );
    assert.deepEqual(p.containerSettings.imageSourceRegistry.credentials, { username: 'demo' });
    assert.equal(view.properties['toolType'], 'horovod');
    assert.equal(view.properties['executionState'], 'queued');
  });
});

describe('cluster view', () => {
  test('matches the PutCluster.json response, including the empty credentials object', () => {
    const example = readExample('PutCluster');
    const expected = exampleResponse('PutCluster');
    const props = assertAccepted(validateClusterCreate(example.parameters.parameters));
    const record = {
      ...newClusterRecord({
        id: idOf('cluster', expected.id),
        uid: UID,
        properties: props,
        now: '2017-09-27T21:50:02.377Z',
      }),
      provisioningState: 'succeeded' as const,
      provisioningStateTransitionTime: '2017-09-27T21:50:03.828Z',
      allocationState: 'resizing' as const,
      allocationStateTransitionTime: '2017-09-27T21:50:04.521Z',
    };
    const view = clusterView(record);
    assert.equal(view.id, expected.id);
    assert.equal(view.name, expected.name);
    assert.equal(view.type, 'Microsoft.BatchAI/workspaces/clusters');
    // The example's response shows a subnet the request never sent (the service made one); ours reports none.
    // It omits adminUserSshPublicKey, which the live service did return (az batchai cluster show), and so do we.
    const { subnet: _createdByService, userAccountSettings, ...comparable } = expected.properties;
    const { userAccountSettings: ours, ...rest } = view.properties;
    assert.deepEqual(rest, comparable);
    assert.deepEqual(ours, { ...(userAccountSettings as object), adminUserSshPublicKey: 'ssh-rsa AAAAB3NzaC1yc...' });
    assert.ok(!JSON.stringify(view).includes('admin_user_password'));
  });

  test('never includes passwords, account keys, instrumentation keys or setup secrets', () => {
    const body = fullCluster(marker);
    const props = assertAccepted(validateClusterCreate(body));
    const view = clusterView(
      newClusterRecord({ id: idOf('cluster', CLUSTER_ID), uid: 'u', properties: props, now: NOW }),
    );
    const text = JSON.stringify(view);
    const secrets = collectSecretValues(body);
    assert.equal(secrets.length, 4);
    for (const secret of secrets) assert.ok(!text.includes(secret), `view leaks ${secret}`);
    const setupTask = (view.properties['nodeSetup'] as { setupTask: Record<string, unknown> }).setupTask;
    assert.deepEqual(setupTask['secrets'], [{ name: 'SETUP_SECRET' }]);
    assert.equal(
      setupTask['stdOutErrPathSuffix'],
      `${SUB}/demo_resource_group/workspaces/demo_workspace/clusters/demo_cluster/u`,
    );
    assert.deepEqual(view.properties['nodeStateCounts'], EMPTY_NODE_STATE_COUNTS);
  });
});

describe('file server, workspace and experiment views', () => {
  test('file server view matches GetFileServer.json', () => {
    const expected = exampleResponse('GetFileServer');
    const props = assertAccepted(validateFileServerCreate(readExample('PutFileServer').parameters.parameters));
    props.subnet = expected.properties['subnet'] as { id: string };
    const record = {
      ...newFileServerRecord({
        id: idOf('fileServer', expected.id),
        properties: props,
        now: '2017-09-27T21:45:28.159Z',
      }),
      provisioningState: 'succeeded' as const,
      provisioningStateTransitionTime: '2017-09-27T21:49:25.416Z',
      mountSettings: expected.properties['mountSettings'] as { mountPoint: string },
    };
    const view = fileServerView(record);
    assert.equal(view.id, expected.id.replace('/fileservers/', '/fileServers/'));
    assert.equal(view.name, expected.name);
    assert.equal(view.type, 'Microsoft.BatchAI/workspaces/fileServers');
    assert.deepEqual(view.properties, expected.properties);
  });

  test('file server view never includes the admin password', () => {
    const props = assertAccepted(validateFileServerCreate(fullFileServer(marker)));
    const view = fileServerView(
      newFileServerRecord({
        id: idOf('fileServer', CLUSTER_ID.replace('clusters/demo_cluster', 'fileServers/fs')),
        properties: props,
        now: NOW,
      }),
    );
    assert.ok(!JSON.stringify(view).includes(marker('fsPassword')));
    assert.deepEqual((view.properties['sshConfiguration'] as Record<string, unknown>)['publicIPsToAllow'], [
      '10.0.0.0/8',
    ]);
  });

  test('workspace and experiment views match GetWorkspace.json and GetExperiment.json', () => {
    const ws = exampleResponse('GetWorkspace');
    const view = workspaceView({
      id: idOf('workspace', ws.id),
      location: 'eastus',
      ...(ws.properties as Provisioning),
    });
    assert.deepEqual({ ...view, type: ws.type }, { ...ws, location: 'eastus' });
    assert.equal(view.type, 'Microsoft.BatchAI/workspaces');
    const exp = exampleResponse('GetExperiment');
    // The example's id has the singular `/workspace/` typo; compare against the well-formed id.
    const expId = exp.id.replace('/workspace/', '/workspaces/');
    const record = {
      id: idOf('experiment', expId),
      creationTime: NOW,
      ...(exp.properties as Omit<Provisioning, 'creationTime'>),
    };
    const expView = experimentView(record);
    assert.deepEqual(expView.properties, { creationTime: NOW, ...exp.properties });
    assert.equal(expView.type, 'Microsoft.BatchAI/workspaces/experiments');
    assert.equal(expView.name, 'demo_experiment');
  });
});

describe('secrets never appear in views (property-based)', () => {
  const secretText = fc.string({ minLength: 6, maxLength: 30 }).map((s) => `S3cr3t:${s}`);

  test('for any secret values in a full job', () => {
    fc.assert(
      fc.property(fc.array(secretText, { minLength: 4, maxLength: 4 }), (values) => {
        const names = ['fileShareKey', 'blobKey', 'registryPassword', 'envSecret'];
        const body = fullJob((name) => values[names.indexOf(name)] ?? 'unused');
        const props = assertAccepted(validateJobCreate(body));
        const id = idOf('job', `${CLUSTER_ID.replace(/clusters\/.*/, '')}experiments/e/jobs/j`);
        const text = JSON.stringify(jobView(newJobRecord({ id, uid: UID, properties: props, now: NOW })));
        return values.every((v) => !text.includes(JSON.stringify(v).slice(1, -1)));
      }),
      { numRuns: 200 },
    );
  });

  test('for any secret values in a full cluster', () => {
    fc.assert(
      fc.property(fc.array(secretText, { minLength: 4, maxLength: 4 }), (values) => {
        const names = ['setupSecret', 'clusterShareKey', 'instrumentationKey', 'adminPassword'];
        const body = fullCluster((name) => values[names.indexOf(name)] ?? 'unused');
        const props = assertAccepted(validateClusterCreate(body));
        const text = JSON.stringify(
          clusterView(newClusterRecord({ id: idOf('cluster', CLUSTER_ID), uid: 'u', properties: props, now: NOW })),
        );
        return values.every((v) => !text.includes(JSON.stringify(v).slice(1, -1)));
      }),
      { numRuns: 200 },
    );
  });
});
