// The event builders against the published shapes (azure-wire-formats §1): envelope, topics, data fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  availabilityStatusChanged,
  resourceAnnotated,
  resourceEvent,
  scheduledEventEmitted,
} from '../../../local/compute/events.js';

const SUB = 'sub-1';
const VMSS = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool`;
const VM = `${VMSS}/virtualMachines/3`;
const NOW = new Date('2026-11-28T00:00:00.000Z');
const target = {
  subscriptionId: SUB,
  targetResourceId: VM,
  targetResourceType: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
};

test('Resources events: resource-group topic, subject = resource, operationName and status in data', () => {
  const e = resourceEvent({
    id: 'e1',
    now: NOW,
    kind: 'Action',
    outcome: 'Success',
    subscriptionId: SUB,
    resourceGroup: 'rg',
    tenantId: 't',
    resourceUri: VM,
    operationName: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action',
    httpMethod: 'POST',
    url: 'http://x/restart?api-version=2024-07-01',
    correlationId: 'c1',
  });
  assert.equal(e.eventType, 'Microsoft.Resources.ResourceActionSuccess');
  assert.equal(e.topic, `/subscriptions/${SUB}/resourceGroups/rg`);
  assert.equal(e.subject, VM);
  assert.equal(e.eventTime, NOW.toISOString());
  assert.equal(e.dataVersion, '2');
  assert.equal(e.metadataVersion, '1');
  assert.equal(e.data.operationName, 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action');
  assert.equal(e.data.status, 'Succeeded');
  assert.equal(e.data.resourceProvider, 'Microsoft.Compute');
  assert.equal(e.data.resourceUri, VM);
  assert.deepEqual(e.data.httpRequest, {
    clientRequestId: '',
    clientIpAddress: '127.0.0.1',
    method: 'POST',
    url: 'http://x/restart?api-version=2024-07-01',
  });
  const failed = resourceEvent({
    ...{
      id: 'e2',
      now: NOW,
      kind: 'Write',
      outcome: 'Failure',
      subscriptionId: SUB,
      resourceGroup: 'rg',
      tenantId: 't',
      resourceUri: VMSS,
      operationName: 'w',
      httpMethod: 'PUT',
      url: 'u',
      correlationId: 'c',
    },
  });
  assert.equal(failed.eventType, 'Microsoft.Resources.ResourceWriteFailure');
  assert.equal(failed.data.status, 'Failed');
});

test('health events: subscription topic, resourceInfo under the target, previous and current state', () => {
  const e = availabilityStatusChanged({ ...target, id: 'h1', now: NOW, previous: 'Available', current: 'Unavailable' });
  assert.equal(e.eventType, 'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged');
  assert.equal(e.topic, `/subscriptions/${SUB}`);
  assert.equal(e.subject, VM);
  assert.equal(e.dataVersion, '1');
  assert.deepEqual(e.data, {
    resourceInfo: {
      id: `${VM}/providers/Microsoft.ResourceHealth/availabilityStatuses/h1`,
      name: 'h1',
      type: 'Microsoft.ResourceHealth/availabilityStatuses',
      properties: {
        targetResourceId: VM,
        targetResourceType: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
        occurredTime: NOW.toISOString(),
        previousAvailabilityState: 'Available',
        availabilityState: 'Unavailable',
      },
    },
    operationalInfo: { resourceEventTime: NOW.toISOString() },
    apiVersion: '2023-12-01',
  });
});

test('annotations carry Azure’s name, context and category', () => {
  const cases = [
    ['VirtualMachinePreempted', 'Platform Initiated', 'Unplanned'],
    ['VirtualMachineHostCrashed', 'Platform Initiated', 'Unplanned'],
    ['VirtualMachineRestarted', 'Customer Initiated', 'Not Applicable'],
    ['VirtualMachineDeallocationInitiated', 'Customer Initiated', 'Not Applicable'],
  ] as const;
  for (const [annotationName, context, category] of cases) {
    const e = resourceAnnotated({ ...target, id: 'a', now: NOW, annotationName });
    assert.equal(e.eventType, 'Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated');
    const info = e.data.resourceInfo as { type: string; id: string; properties: Record<string, unknown> };
    assert.equal(info.type, 'Microsoft.ResourceHealth/resourceAnnotations');
    assert.equal(info.id, `${VM}/providers/Microsoft.ResourceHealth/resourceAnnotations/a`);
    assert.equal(info.properties.annotationName, annotationName);
    assert.equal(info.properties.context, context);
    assert.equal(info.properties.category, category);
    assert.equal(typeof info.properties.summary, 'string');
    assert.equal(typeof info.properties.reason, 'string');
  }
});

test('the Preempt scheduled event is about the scale set and names the VM', () => {
  const e = scheduledEventEmitted({
    id: 's1',
    now: NOW,
    subscriptionId: SUB,
    scaleSetId: VMSS,
    location: 'local',
    eventType: 'Preempt',
    resources: ['pool_3'],
    notBefore: NOW,
    durationInSeconds: -1,
  });
  assert.equal(e.eventType, 'Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted');
  assert.equal(e.subject, VMSS);
  assert.equal(e.dataVersion, '3.0');
  const info = e.data.resourceInfo as {
    id: string;
    type: string;
    location: string;
    properties: Record<string, unknown>;
  };
  assert.equal(info.id, `${VMSS}/providers/microsoft.maintenance/scheduledevents/s1`);
  assert.equal(info.type, 'Microsoft.Maintenance/scheduledEvents');
  assert.equal(info.properties.EventType, 'Preempt');
  assert.equal(info.properties.EventStatus, 'Scheduled');
  assert.equal(info.properties.ResourceType, 'VirtualMachine');
  assert.deepEqual(info.properties.Resources, ['pool_3']);
  assert.equal(info.properties.NotBefore, 'Sat, 28 Nov 2026 00:00:00 GMT');
  assert.equal(e.data.apiVersion, '2023-07-01');
});
