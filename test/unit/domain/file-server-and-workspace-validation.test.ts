import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkResourceName,
  isValidResourceName,
  validateExperimentCreate,
  validateFileServerCreate,
  validateWorkspaceCreate,
  validateWorkspaceUpdate,
} from '../../../shared/domain/index.js';
import { assertAccepted, assertRejected } from './assertions.js';
import { fullFileServer, marker } from './fixtures.js';
import { exampleResponse, readExample } from './reference-data.js';

describe('file server PUT', () => {
  test('the spec example PutFileServer.json validates with cachingType defaulted as its response shows', () => {
    const example = readExample('PutFileServer');
    const props = assertAccepted(validateFileServerCreate(example.parameters.parameters));
    const response = exampleResponse('PutFileServer').properties;
    assert.deepEqual(props.dataDisks, response['dataDisks']);
  });

  test('every writable property is kept; enums are normalized', () => {
    const body = fullFileServer(marker);
    body.properties.dataDisks.storageAccountType = 'premium_lrs';
    const props = assertAccepted(validateFileServerCreate(body));
    assert.equal(props.dataDisks.storageAccountType, 'Premium_LRS');
    assert.deepEqual(props.sshConfiguration.publicIPsToAllow, ['10.0.0.0/8']);
  });

  test('rejections name the field', () => {
    const bad = (mutate: (p: Record<string, unknown> & ReturnType<typeof fullFileServer>['properties']) => void) => {
      const body = fullFileServer(marker);
      mutate(body.properties as never);
      return validateFileServerCreate(body);
    };
    assertRejected(
      bad((p) => {
        p.dataDisks.diskCount = 0;
      }),
      'properties.dataDisks.diskCount',
    );
    assertRejected(
      bad((p) => {
        p.dataDisks.storageAccountType = 'Ultra_LRS';
      }),
      'properties.dataDisks.storageAccountType',
    );
    assertRejected(
      bad((p) => {
        p.dataDisks.cachingType = 'writeback';
      }),
      'properties.dataDisks.cachingType',
    );
    assertRejected(
      bad((p) => {
        p.subnet.id = 'subnet-1';
      }),
      'properties.subnet.id',
      'InvalidResourceId',
    );
    assertRejected(
      bad((p) => {
        delete (p as Record<string, unknown>)['sshConfiguration'];
      }),
      'properties.sshConfiguration',
      'MissingRequiredProperty',
    );
    assertRejected(
      bad((p) => {
        p['diskSize'] = 1;
      }),
      'properties.diskSize',
      'UnknownProperty',
    );
  });
});

describe('workspace and experiment bodies', () => {
  test('the spec examples validate', () => {
    const put = assertAccepted(validateWorkspaceCreate(readExample('PutWorkspace').parameters.parameters));
    assert.equal(put.location, 'eastus');
    const patch = assertAccepted(validateWorkspaceUpdate(readExample('PatchWorkspace').parameters.parameters));
    assert.deepEqual(patch.tags, { key1: 'value1' });
    assertAccepted(validateExperimentCreate(readExample('PutExperiment').parameters.parameters));
  });

  test('experiments accept no body or an empty one, and reject properties they do not have', () => {
    assertAccepted(validateExperimentCreate(undefined));
    assertAccepted(validateExperimentCreate({}));
    assertRejected(
      validateExperimentCreate({ properties: { description: 'x' } }),
      'properties.description',
      'UnknownProperty',
    );
  });

  test('a workspace needs a location; tags are strings', () => {
    assertRejected(validateWorkspaceCreate({}), 'location', 'MissingRequiredProperty');
    assertRejected(validateWorkspaceCreate({ location: 'eastus', tags: { a: 1 } }), 'tags.a', 'InvalidPropertyValue');
  });
});

describe('resource names', () => {
  test('names follow ^[-\\w_]+$ with 1 to 64 characters', () => {
    for (const name of ['a', 'demo_job', 'job-1', 'A'.repeat(64)]) assert.equal(isValidResourceName(name), true, name);
    for (const name of ['', 'a b', 'job.1', 'x/y', 'A'.repeat(65), 'é'])
      assert.equal(isValidResourceName(name), false, name);
  });

  test('a bad name in the URL gives InvalidResourceName targeting the path parameter', () => {
    const error = checkResourceName('jobName', 'bad name');
    assert.deepEqual({ code: error?.code, target: error?.target }, { code: 'InvalidResourceName', target: 'jobName' });
    assert.match(error?.message ?? '', /'bad name'/);
    assert.equal(checkResourceName('jobName', 'good_name'), undefined);
  });
});
