import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { completeJobFile, type JobProperties, toolTypeOf, validateJobCreate } from '../../../shared/domain/index.js';
import { assertAccepted, assertRejected } from './assertions.js';
import { CLUSTER_ID, fullJob, keyVaultRef, marker, minimalJob } from './fixtures.js';
import { clone, exampleResponse, readExample, readRecipes } from './reference-data.js';

const RECIPE_VALUES = { AZURE_BATCHAI_STORAGE_ACCOUNT: 'batchaisamples' };
const STORAGE = { name: 'batchaisamples', key: 'c2VjcmV0LWtleQ==' };

function withProps(patch: Record<string, unknown>, remove: string[] = []) {
  const body = minimalJob();
  for (const name of remove) delete body.properties[name];
  Object.assign(body.properties, patch);
  return body;
}

describe('job recipes (Batch AI CLI job files)', () => {
  const recipes = readRecipes(RECIPE_VALUES);

  test('there are recipes to check', () => {
    assert.ok(recipes.length >= 5, `found ${recipes.length} recipes`);
  });

  for (const { name, body } of recipes) {
    test(`${name} validates once completed like the CLI did`, () => {
      const job = assertAccepted(
        validateJobCreate(completeJobFile(body, { clusterId: CLUSTER_ID, storageAccount: STORAGE })),
      );
      assert.equal(job.cluster.id, CLUSTER_ID);
      assert.equal(job.schedulingPriority, 'normal');
      assert.equal(job.constraints.maxWallClockTime, 'P7D');
      for (const share of job.mountVolumes?.azureFileShares ?? []) {
        assert.equal(share.accountName, 'batchaisamples');
        assert.equal(share.credentials.accountKey, STORAGE.key);
        assert.equal(share.fileMode, '0777');
      }
    });

    test(`${name} as sent raw is rejected for the missing cluster`, () => {
      assertRejected(validateJobCreate(body), 'properties.cluster', 'MissingRequiredProperty');
    });
  }

  test('the CNTK recipe gets languageType and processCount filled in, as the service reported them', () => {
    const cntk = recipes.find((r) => r.name.startsWith('CNTK'));
    assert.ok(cntk);
    const job = assertAccepted(
      validateJobCreate(completeJobFile(cntk.body, { clusterId: CLUSTER_ID, storageAccount: STORAGE })),
    );
    assert.deepEqual(
      { languageType: job.cntkSettings?.languageType, processCount: job.cntkSettings?.processCount },
      { languageType: 'Python', processCount: 1 },
    );
    assert.equal(toolTypeOf(job), 'cntk');
  });

  test('the PyTorch recipe keeps its backend, in the spec casing', () => {
    const torch = recipes.find((r) => r.name.startsWith('PyTorch'));
    assert.ok(torch);
    const job = assertAccepted(
      validateJobCreate(completeJobFile(torch.body, { clusterId: CLUSTER_ID, storageAccount: STORAGE })),
    );
    assert.equal(job.pyTorchSettings?.communicationBackend, 'Gloo');
    assert.equal(job.pyTorchSettings?.processCount, 2);
    assert.equal(toolTypeOf(job), 'pytorch');
  });

  test('completion keeps what the file already says', () => {
    const body = minimalJob();
    const otherCluster = CLUSTER_ID.replace('demo_cluster', 'other');
    body.properties['cluster'] = { id: otherCluster };
    const done = completeJobFile(body, { clusterId: CLUSTER_ID }) as typeof body;
    assert.deepEqual(done.properties['cluster'], { id: otherCluster });
  });
});

describe('the spec example PutJob.json', () => {
  const example = readExample('PutJob');

  test('is rejected as published: it uses the 2018-03-01 name `priority` and a `/workspace/` cluster id', () => {
    const result = validateJobCreate(example.parameters.parameters);
    const unknown = assertRejected(result, 'properties.priority', 'UnknownProperty');
    assert.match(unknown.message, /Did you mean 'schedulingPriority'\?/);
    assertRejected(result, 'properties.cluster.id', 'InvalidResourceId');
  });

  test('validates once those two typos are fixed, with the defaults the 200 response shows', () => {
    const body = clone(example.parameters.parameters) as { properties: Record<string, unknown> };
    body.properties['schedulingPriority'] = body.properties['priority'];
    delete body.properties['priority'];
    const cluster = body.properties['cluster'] as { id: string };
    cluster.id = cluster.id.replace('/workspace/', '/workspaces/');
    const job = assertAccepted(validateJobCreate(body));
    const response = exampleResponse('PutJob');
    assert.equal(
      job.constraints.maxWallClockTime,
      (response.properties['constraints'] as { maxWallClockTime: string }).maxWallClockTime,
    );
    assert.equal(job.schedulingPriority, response.properties['priority']);
    assert.equal(toolTypeOf(job), response.properties['toolType']);
    assert.deepEqual(job.outputDirectories, response.properties['outputDirectories']);
  });
});

describe('valid jobs', () => {
  test('a job with every writable property validates and keeps every value', () => {
    const body = fullJob(marker);
    const job = assertAccepted(validateJobCreate(body));
    assert.equal(job.schedulingPriority, 'high');
    assert.equal(job.horovodSettings?.processCount, 2, 'processCount defaults to nodeCount');
    assert.equal(job.constraints.maxWallClockTime, 'PT2H');
    assert.equal(job.containerSettings?.shmSize, '2g');
    assert.equal(job.mountVolumes?.azureBlobFileSystems?.length, 2);
    assert.deepEqual(job.secrets?.[1], { name: 'DB_PASSWORD', valueSecretReference: keyVaultRef('db') });
    assert.equal(toolTypeOf(job), 'horovod');
  });

  test('the defaults are the spec defaults', () => {
    const job = assertAccepted(validateJobCreate(minimalJob()));
    assert.equal(job.schedulingPriority, 'normal');
    assert.deepEqual(job.constraints, { maxWallClockTime: 'P7D' });
  });

  test('an explicit processCount is kept', () => {
    const job = assertAccepted(
      validateJobCreate(
        withProps({ nodeCount: 2, customMpiSettings: { commandLine: 'mpirun x', processCount: 8 } }, [
          'customToolkitSettings',
        ]),
      ),
    );
    assert.equal(job.customMpiSettings?.processCount, 8);
  });

  test('every toolkit gives its toolType', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['cntkSettings', { configFilePath: 'a.cntk' }, 'cntk'],
      ['pyTorchSettings', { pythonScriptFilePath: 'a.py' }, 'pytorch'],
      ['tensorFlowSettings', { pythonScriptFilePath: 'a.py' }, 'tensorflow'],
      ['caffeSettings', { configFilePath: 'solver.prototxt' }, 'caffe'],
      ['caffe2Settings', { pythonScriptFilePath: 'a.py' }, 'caffe2'],
      ['chainerSettings', { pythonScriptFilePath: 'a.py' }, 'chainer'],
      ['customToolkitSettings', { commandLine: 'echo' }, 'custom'],
      ['customMpiSettings', { commandLine: 'echo' }, 'mpi'],
      ['horovodSettings', { pythonScriptFilePath: 'a.py' }, 'horovod'],
    ];
    for (const [property, settings, toolType] of cases) {
      const job = assertAccepted(validateJobCreate(withProps({ [property]: settings }, ['customToolkitSettings'])));
      assert.equal(toolTypeOf(job), toolType, property);
    }
  });

  test('BrainScript CNTK jobs get languageType BrainScript', () => {
    const job = assertAccepted(
      validateJobCreate(withProps({ cntkSettings: { configFilePath: 'a.cntk' } }, ['customToolkitSettings'])),
    );
    assert.equal(job.cntkSettings?.languageType, 'BrainScript');
  });

  test('enums are read case-insensitively and written in the spec casing', () => {
    const job = assertAccepted(validateJobCreate(withProps({ schedulingPriority: 'HIGH' })));
    assert.equal(job.schedulingPriority, 'high');
  });

  test('the .NET TimeSpan form of durations is accepted and written as ISO 8601', () => {
    const job = assertAccepted(validateJobCreate(withProps({ constraints: { maxWallClockTime: '1.12:00:00' } })));
    assert.equal(job.constraints.maxWallClockTime, 'P1DT12H');
  });

  test('null means "not specified" (az CLI output echoes nulls)', () => {
    const job = assertAccepted(
      validateJobCreate(withProps({ caffeSettings: null, secrets: null, jobPreparation: null })),
    );
    assert.equal(job.caffeSettings, undefined);
    assert.equal(toolTypeOf(job), 'custom');
  });

  test('read-only properties echoed from a GET are ignored, not rejected', () => {
    const job = assertAccepted(
      validateJobCreate(
        withProps({
          toolType: 'tensorflow',
          executionState: 'running',
          provisioningState: 'succeeded',
          jobOutputDirectoryPathSegment: 'x',
        }),
      ),
    );
    assert.equal(toolTypeOf(job), 'custom');
    assert.equal((job as JobProperties & { executionState?: string }).executionState, undefined);
  });
});

describe('invalid jobs are rejected naming the field', () => {
  test('two toolkits', () => {
    const d = assertRejected(
      validateJobCreate(withProps({ tensorFlowSettings: { pythonScriptFilePath: 'a.py' } })),
      'properties.customToolkitSettings',
      'InvalidToolkitSettings',
    );
    assert.match(d.message, /tensorFlowSettings/);
  });

  test('no toolkit', () => {
    const result = validateJobCreate(withProps({}, ['customToolkitSettings']));
    const d = assertRejected(result, 'properties', 'InvalidToolkitSettings');
    assert.match(d.message, /exactly one toolkit/);
  });

  test('nodeCount 0, negative, fractional, or a string', () => {
    for (const nodeCount of [0, -1, 1.5, '2']) {
      assertRejected(validateJobCreate(withProps({ nodeCount })), 'properties.nodeCount', 'InvalidPropertyValue');
    }
  });

  test('processCount 0', () => {
    assertRejected(
      validateJobCreate(
        withProps({ customMpiSettings: { commandLine: 'x', processCount: 0 } }, ['customToolkitSettings']),
      ),
      'properties.customMpiSettings.processCount',
    );
  });

  test('bad durations', () => {
    for (const maxWallClockTime of ['7 days', 'P', 'PT', 'P1Y', 'PT0S', '-P1D', '', 'P1DT25:00']) {
      assertRejected(
        validateJobCreate(withProps({ constraints: { maxWallClockTime } })),
        'properties.constraints.maxWallClockTime',
        'InvalidPropertyValue',
      );
    }
  });

  test('unknown enum values', () => {
    const d = assertRejected(
      validateJobCreate(withProps({ schedulingPriority: 'urgent' })),
      'properties.schedulingPriority',
    );
    assert.match(d.message, /'low', 'normal', 'high'/);
    assertRejected(
      validateJobCreate(
        withProps({ pyTorchSettings: { pythonScriptFilePath: 'a.py', communicationBackend: 'nccl' } }, [
          'customToolkitSettings',
        ]),
      ),
      'properties.pyTorchSettings.communicationBackend',
    );
  });

  test('cluster ids that do not parse or name something else', () => {
    const bad = [
      'demo_cluster',
      `/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/clusters/c`,
      CLUSTER_ID.replace('/clusters/', '/fileServers/'),
      CLUSTER_ID.replace('Microsoft.BatchAI', 'Microsoft.Compute'),
      `${CLUSTER_ID}/extra/segment`,
      CLUSTER_ID.replace('demo_cluster', 'bad name!'),
    ];
    for (const id of bad) {
      assertRejected(validateJobCreate(withProps({ cluster: { id } })), 'properties.cluster.id', 'InvalidResourceId');
    }
  });

  test('cluster ids are matched case-insensitively on the fixed words, as ARM does', () => {
    assertAccepted(
      validateJobCreate(
        withProps({
          cluster: { id: CLUSTER_ID.replace('resourceGroups', 'resourcegroups').replace('clusters', 'Clusters') },
        }),
      ),
    );
  });

  test('unknown properties, at the top of properties and nested, with a suggestion', () => {
    const top = assertRejected(validateJobCreate(withProps({ nodeCont: 1 })), 'properties.nodeCont', 'UnknownProperty');
    assert.match(top.message, /Did you mean 'nodeCount'\?/);
    assertRejected(
      validateJobCreate(withProps({ customToolkitSettings: { commandLine: 'x', procesCount: 2 } })),
      'properties.customToolkitSettings.procesCount',
      'UnknownProperty',
    );
  });

  test('missing required properties', () => {
    assertRejected(
      validateJobCreate(withProps({}, ['stdOutErrPathPrefix'])),
      'properties.stdOutErrPathPrefix',
      'MissingRequiredProperty',
    );
    assertRejected(validateJobCreate({}), 'properties', 'MissingRequiredProperty');
    assertRejected(
      validateJobCreate(withProps({ pyTorchSettings: {} }, ['customToolkitSettings'])),
      'properties.pyTorchSettings.pythonScriptFilePath',
      'MissingRequiredProperty',
    );
  });

  test('a body that is not an object', () => {
    for (const body of [null, 42, 'job', [], true]) {
      const result = validateJobCreate(body);
      assert.equal(result.ok, false);
      if (!result.ok) assert.equal(result.error.code, 'InvalidRequestBody');
    }
    assertRejected(validateJobCreate({ properties: [] }), 'properties', 'InvalidPropertyValue');
  });

  test('secrets need exactly one of value and valueSecretReference', () => {
    assertRejected(validateJobCreate(withProps({ secrets: [{ name: 'A' }] })), 'properties.secrets[0]');
    assertRejected(
      validateJobCreate(withProps({ secrets: [{ name: 'A', value: 'x', valueSecretReference: keyVaultRef('a') }] })),
      'properties.secrets[0]',
    );
  });

  test('storage credentials need exactly one of accountKey and accountKeySecretReference', () => {
    const body = fullJob(marker);
    const share = body.properties.mountVolumes.azureFileShares[0] as Record<string, unknown>;
    share['credentials'] = {};
    assertRejected(validateJobCreate(body), 'properties.mountVolumes.azureFileShares[0].credentials');
  });

  test('Key Vault references must name a vault and a secret URL', () => {
    const ref = { sourceVault: { id: CLUSTER_ID }, secretUrl: 'not a url' };
    const result = validateJobCreate(withProps({ secrets: [{ name: 'A', valueSecretReference: ref }] }));
    assertRejected(result, 'properties.secrets[0].valueSecretReference.sourceVault.id', 'InvalidResourceId');
    assertRejected(result, 'properties.secrets[0].valueSecretReference.secretUrl', 'InvalidPropertyValue');
  });

  test('mount paths must be relative and distinct', () => {
    const body = fullJob(marker);
    const mounts = body.properties.mountVolumes;
    (mounts.unmanagedFileSystems[0] as Record<string, unknown>)['relativeMountPath'] = '../etc';
    (mounts.fileServers[0] as Record<string, unknown>)['relativeMountPath'] = 'afs';
    const result = validateJobCreate(body);
    assertRejected(result, 'properties.mountVolumes.unmanagedFileSystems[0].relativeMountPath');
    assertRejected(result, 'properties.mountVolumes.fileServers[0].relativeMountPath');
  });

  test('environment variable names and directory ids must be usable in a shell environment, once each', () => {
    const result = validateJobCreate(
      withProps({
        environmentVariables: [
          { name: 'OK', value: '1' },
          { name: 'OK', value: '2' },
          { name: '1BAD', value: '3' },
        ],
        outputDirectories: [{ id: 'MY-MODEL', pathPrefix: '/x' }],
      }),
    );
    assertRejected(result, 'properties.environmentVariables[1]');
    assertRejected(result, 'properties.environmentVariables[2].name');
    assertRejected(result, 'properties.outputDirectories[0].id');
  });

  test('TensorFlow parameter servers cannot outnumber nodes', () => {
    assertRejected(
      validateJobCreate(
        withProps({ nodeCount: 2, tensorFlowSettings: { pythonScriptFilePath: 'a.py', parameterServerCount: 3 } }, [
          'customToolkitSettings',
        ]),
      ),
      'properties.tensorFlowSettings.parameterServerCount',
    );
  });

  test('CNTK and Caffe language rules', () => {
    assertRejected(
      validateJobCreate(
        withProps(
          { cntkSettings: { languageType: 'BrainScript', configFilePath: 'a', pythonScriptFilePath: 'b.py' } },
          ['customToolkitSettings'],
        ),
      ),
      'properties.cntkSettings.pythonScriptFilePath',
    );
    assertRejected(
      validateJobCreate(
        withProps({ caffeSettings: { configFilePath: 'a', pythonScriptFilePath: 'b.py' } }, ['customToolkitSettings']),
      ),
      'properties.caffeSettings',
    );
  });

  test('the top-level error repeats the first problem and lists all of them', () => {
    const result = validateJobCreate(withProps({ nodeCount: 0, stdOutErrPathPrefix: '' }));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.target, 'properties.nodeCount');
    assert.match(result.error.message, /^The request body is invalid: .*properties\.nodeCount.*1 more problem/);
    assert.deepEqual(
      result.error.details?.map((d) => d.target),
      ['properties.nodeCount', 'properties.stdOutErrPathPrefix'],
    );
  });
});
