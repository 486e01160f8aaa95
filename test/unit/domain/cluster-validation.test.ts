import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyClusterUpdate,
  DEFAULT_IMAGE_REFERENCE,
  initialTargetNodeCount,
  validateClusterCreate,
  validateClusterUpdate,
} from '../../../shared/domain/index.js';
import { assertAccepted, assertRejected } from './assertions.js';
import { CLUSTER_ID, fullCluster, marker } from './fixtures.js';
import { clone, exampleResponse, readExample } from './reference-data.js';

function cluster(patch: Record<string, unknown> = {}) {
  const body = fullCluster(marker);
  Object.assign(body.properties, patch);
  return body;
}

describe('cluster PUT', () => {
  test('the spec example PutCluster.json validates, with the defaults its response shows', () => {
    const example = readExample('PutCluster');
    const props = assertAccepted(validateClusterCreate(example.parameters.parameters));
    const response = exampleResponse('PutCluster').properties;
    assert.equal(props.vmPriority, response['vmPriority']);
    assert.deepEqual(props.scaleSettings, response['scaleSettings']);
    assert.deepEqual(props.virtualMachineConfiguration, response['virtualMachineConfiguration']);
  });

  test('a cluster with every writable property validates', () => {
    const props = assertAccepted(validateClusterCreate(fullCluster(marker)));
    assert.equal(props.vmPriority, 'lowpriority');
    assert.equal(props.scaleSettings.autoScale?.initialNodeCount, 1);
    assert.equal(props.virtualMachineConfiguration.imageReference.publisher, 'microsoft-ads');
    assert.equal(props.nodeSetup?.setupTask?.secrets?.[0]?.value, marker('setupSecret'));
    assert.equal(initialTargetNodeCount(props.scaleSettings), 1);
  });

  test('defaults: dedicated, an empty manual cluster, the Ubuntu 16.04 image, requeue, initialNodeCount 0', () => {
    const minimal = { properties: { vmSize: 'STANDARD_D1', userAccountSettings: { adminUserName: 'me' } } };
    const props = assertAccepted(validateClusterCreate(minimal));
    assert.equal(props.vmPriority, 'dedicated');
    assert.deepEqual(props.scaleSettings, { manual: { targetNodeCount: 0, nodeDeallocationOption: 'requeue' } });
    assert.deepEqual(props.virtualMachineConfiguration.imageReference, DEFAULT_IMAGE_REFERENCE);
    const auto = assertAccepted(
      validateClusterCreate({
        properties: {
          ...minimal.properties,
          scaleSettings: { autoScale: { minimumNodeCount: 0, maximumNodeCount: 2 } },
        },
      }),
    );
    assert.equal(auto.scaleSettings.autoScale?.initialNodeCount, 0);
  });

  test('enums are case-insensitive (the service used a case-insensitive reader)', () => {
    const props = assertAccepted(validateClusterCreate(cluster({ vmPriority: 'LowPriority' })));
    assert.equal(props.vmPriority, 'lowpriority');
  });

  test('a GET representation can be PUT back: read-only properties are ignored', () => {
    const body = clone(exampleResponse('GetCluster'));
    const userAccountSettings = body.properties['userAccountSettings'] as Record<string, unknown>;
    userAccountSettings['adminUserPassword'] = 'p';
    // The GET shows credentials without the key (write-only), so a client must send it again.
    const nodeSetup = body.properties['nodeSetup'] as {
      mountVolumes: { azureFileShares: Array<Record<string, unknown>> };
    };
    for (const share of nodeSetup.mountVolumes.azureFileShares) share['credentials'] = { accountKey: 'k' };
    assertAccepted(validateClusterCreate(body));
  });

  test('rejections name the field', () => {
    assertRejected(
      validateClusterCreate(cluster({ vmPriority: 'spot' })),
      'properties.vmPriority',
      'InvalidPropertyValue',
    );
    assertRejected(
      validateClusterCreate(cluster({ vmSize: undefined })),
      'properties.vmSize',
      'MissingRequiredProperty',
    );
    assertRejected(
      validateClusterCreate(cluster({ subnet: { id: CLUSTER_ID } })),
      'properties.subnet.id',
      'InvalidResourceId',
    );
    assertRejected(
      validateClusterCreate(
        cluster({
          scaleSettings: { manual: { targetNodeCount: 1 }, autoScale: { minimumNodeCount: 0, maximumNodeCount: 1 } },
        }),
      ),
      'properties.scaleSettings',
    );
    assertRejected(validateClusterCreate(cluster({ scaleSettings: {} })), 'properties.scaleSettings');
    assertRejected(
      validateClusterCreate(cluster({ scaleSettings: { autoScale: { minimumNodeCount: 3, maximumNodeCount: 2 } } })),
      'properties.scaleSettings.autoScale.minimumNodeCount',
    );
    assertRejected(
      validateClusterCreate(cluster({ scaleSettings: { manual: { targetNodeCount: -1 } } })),
      'properties.scaleSettings.manual.targetNodeCount',
    );
    assertRejected(
      validateClusterCreate(
        cluster({ scaleSettings: { manual: { targetNodeCount: 1, nodeDeallocationOption: 'drain' } } }),
      ),
      'properties.scaleSettings.manual.nodeDeallocationOption',
    );
    assertRejected(validateClusterCreate(cluster({ vmSku: 'x' })), 'properties.vmSku', 'UnknownProperty');
    assertRejected(
      validateClusterCreate(cluster({ userAccountSettings: {} })),
      'properties.userAccountSettings.adminUserName',
      'MissingRequiredProperty',
    );
  });

  test('image ids and App Insights references are checked', () => {
    const body = fullCluster(marker);
    (body.properties.virtualMachineConfiguration.imageReference as Record<string, unknown>)['virtualMachineImageId'] =
      CLUSTER_ID;
    body.properties.nodeSetup.performanceCountersSettings.appInsightsReference = {
      component: { id: CLUSTER_ID },
    } as never;
    const result = validateClusterCreate(body);
    assertRejected(
      result,
      'properties.virtualMachineConfiguration.imageReference.virtualMachineImageId',
      'InvalidResourceId',
    );
    assertRejected(
      result,
      'properties.nodeSetup.performanceCountersSettings.appInsightsReference.component.id',
      'InvalidResourceId',
    );
  });
});

describe('cluster PATCH', () => {
  test('the spec example PatchCluster.json validates and applies', () => {
    const example = readExample('PatchCluster');
    const update = assertAccepted(validateClusterUpdate(example.parameters.parameters));
    const current = assertAccepted(validateClusterCreate(fullCluster(marker)));
    const next = applyClusterUpdate(current, update);
    const response = exampleResponse('PatchCluster').properties;
    assert.deepEqual(next.scaleSettings, response['scaleSettings']);
    assert.equal(next.vmSize, current.vmSize);
  });

  test('only scaleSettings may be patched', () => {
    assertRejected(validateClusterUpdate({ properties: { vmSize: 'X' } }), 'properties.vmSize', 'UnknownProperty');
  });

  test('an empty patch changes nothing', () => {
    const update = assertAccepted(validateClusterUpdate({}));
    const current = assertAccepted(validateClusterCreate(fullCluster(marker)));
    assert.equal(applyClusterUpdate(current, update), current);
  });
});
