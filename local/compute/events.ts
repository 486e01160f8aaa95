// The Event Grid events Azure emits about scale sets and their VMs, in the Event Grid schema (what the app's
// subscription receives). Pure: ids and clocks come in as arguments. Shapes follow Microsoft's published schemas:
// Microsoft.Resources.Resource{Write,Delete,Action}{Success,Failure} (resource-group topic, for ARM calls) and
// Microsoft.ResourceNotifications.HealthResources / MaintenanceResources (subscription topic, for what the platform
// does to a VM: preemption, host crash, restart, availability changes).

export interface EventGridEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: Record<string, unknown>;
  dataVersion: string;
  metadataVersion: '1';
}

export type ArmEventKind = 'Write' | 'Delete' | 'Action';
export type ArmEventOutcome = 'Success' | 'Failure';

/** Resources events: one per ARM call (PUT/PATCH → Write, DELETE → Delete, POST → Action). */
export function resourceEvent(o: {
  id: string;
  now: Date;
  kind: ArmEventKind;
  outcome: ArmEventOutcome;
  subscriptionId: string;
  resourceGroup: string;
  tenantId: string;
  resourceUri: string;
  operationName: string;
  httpMethod: string;
  url: string;
  correlationId: string;
  clientRequestId?: string;
}): EventGridEvent {
  const topic = `/subscriptions/${o.subscriptionId}/resourceGroups/${o.resourceGroup}`;
  return {
    id: o.id,
    topic,
    subject: o.resourceUri,
    eventType: `Microsoft.Resources.Resource${o.kind}${o.outcome}`,
    eventTime: o.now.toISOString(),
    data: {
      authorization: {
        scope: o.resourceUri,
        action: o.operationName,
        evidence: { role: 'Owner', roleAssignmentScope: `/subscriptions/${o.subscriptionId}`, principalType: 'User' },
      },
      claims: {},
      correlationId: o.correlationId,
      httpRequest: {
        clientRequestId: o.clientRequestId ?? '',
        clientIpAddress: '127.0.0.1',
        method: o.httpMethod,
        url: o.url,
      },
      resourceProvider: 'Microsoft.Compute',
      resourceUri: o.resourceUri,
      operationName: o.operationName,
      status: o.outcome === 'Success' ? 'Succeeded' : 'Failed',
      subscriptionId: o.subscriptionId,
      tenantId: o.tenantId,
    },
    dataVersion: '2',
    metadataVersion: '1',
  };
}

export type AvailabilityState = 'Available' | 'Unavailable' | 'Degraded' | 'Unknown';

export interface HealthTarget {
  subscriptionId: string;
  /** The scale-set VM's ARM id. */
  targetResourceId: string;
  targetResourceType: string;
}

function healthEvent(
  o: HealthTarget & { id: string; now: Date },
  eventType: string,
  resourceType: string,
  segment: string,
  properties: Record<string, unknown>,
): EventGridEvent {
  const time = o.now.toISOString();
  return {
    id: o.id,
    topic: `/subscriptions/${o.subscriptionId}`,
    subject: o.targetResourceId,
    eventType,
    eventTime: time,
    data: {
      resourceInfo: {
        id: `${o.targetResourceId}/providers/Microsoft.ResourceHealth/${segment}/${o.id}`,
        name: o.id,
        type: resourceType,
        properties: {
          targetResourceId: o.targetResourceId,
          targetResourceType: o.targetResourceType,
          occurredTime: time,
          ...properties,
        },
      },
      operationalInfo: { resourceEventTime: time },
      apiVersion: '2023-12-01',
    },
    dataVersion: '1',
    metadataVersion: '1',
  };
}

export function availabilityStatusChanged(
  o: HealthTarget & { id: string; now: Date; previous: AvailabilityState; current: AvailabilityState },
): EventGridEvent {
  return healthEvent(
    o,
    'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged',
    'Microsoft.ResourceHealth/availabilityStatuses',
    'availabilityStatuses',
    { previousAvailabilityState: o.previous, availabilityState: o.current },
  );
}

export type AnnotationName =
  | 'VirtualMachinePreempted'
  | 'VirtualMachineHostCrashed'
  | 'VirtualMachineRestarted'
  | 'VirtualMachineDeallocationInitiated'
  | 'VirtualMachineHostRebootedForRepair'
  | 'VirtualMachineStopInitiatedByControlPlane';

// What Azure's VM annotations say (Resource Health "VM annotations" catalogue).
const ANNOTATIONS: Record<AnnotationName, { reason: string; summary: string; context: string; category: string }> = {
  VirtualMachinePreempted: {
    reason: 'Preempted',
    summary:
      'The Spot virtual machine was evicted because Azure needed the capacity back or the price exceeded the max price.',
    context: 'Platform Initiated',
    category: 'Unplanned',
  },
  VirtualMachineHostCrashed: {
    reason: 'Unexpected host failure',
    summary:
      'The virtual machine is unavailable because its host crashed unexpectedly. Azure is automatically recovering it on a healthy host.',
    context: 'Platform Initiated',
    category: 'Unplanned',
  },
  VirtualMachineHostRebootedForRepair: {
    reason: 'Service healing',
    summary: 'The virtual machine was rebooted to recover from the host failure and is available again.',
    context: 'Platform Initiated',
    category: 'Unplanned',
  },
  VirtualMachineRestarted: {
    reason: 'Customer initiated restart',
    summary: 'The virtual machine is restarting as requested by an authorized user or process.',
    context: 'Customer Initiated',
    category: 'Not Applicable',
  },
  VirtualMachineDeallocationInitiated: {
    reason: 'Stopped and deallocated',
    summary: 'The virtual machine is being stopped and deallocated as requested by an authorized user or process.',
    context: 'Customer Initiated',
    category: 'Not Applicable',
  },
  VirtualMachineStopInitiatedByControlPlane: {
    reason: 'Stopped by the platform',
    summary: 'The virtual machine is being stopped by the platform.',
    context: 'Platform Initiated',
    category: 'Unplanned',
  },
};

export function resourceAnnotated(
  o: HealthTarget & { id: string; now: Date; annotationName: AnnotationName },
): EventGridEvent {
  return healthEvent(
    o,
    'Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated',
    'Microsoft.ResourceHealth/resourceAnnotations',
    'resourceAnnotations',
    { annotationName: o.annotationName, ...ANNOTATIONS[o.annotationName] },
  );
}

/** The scheduled event a VM sees before the platform acts on it (Preempt before a Spot eviction). */
export function scheduledEventEmitted(o: {
  id: string;
  now: Date;
  subscriptionId: string;
  scaleSetId: string;
  location: string;
  eventType: 'Preempt' | 'Reboot' | 'Redeploy' | 'Freeze' | 'Terminate';
  resources: string[];
  notBefore: Date;
  durationInSeconds: number;
}): EventGridEvent {
  const time = o.now.toISOString();
  return {
    id: o.id,
    topic: `/subscriptions/${o.subscriptionId}`,
    subject: o.scaleSetId,
    eventType: 'Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted',
    eventTime: time,
    data: {
      resourceInfo: {
        id: `${o.scaleSetId}/providers/microsoft.maintenance/scheduledevents/${o.id}`,
        name: o.id,
        type: 'Microsoft.Maintenance/scheduledEvents',
        location: o.location,
        properties: {
          DurationInSeconds: o.durationInSeconds,
          Description: o.eventType === 'Preempt' ? 'Virtual machine is being preempted.' : `Scheduled ${o.eventType}.`,
          EventId: o.id,
          EventSource: 'Platform',
          EventStatus: 'Scheduled',
          EventType: o.eventType,
          NotBefore: o.notBefore.toUTCString(),
          Resources: o.resources,
          ResourceType: 'VirtualMachine',
        },
      },
      operationalInfo: { resourceEventTime: time },
      apiVersion: '2023-07-01',
    },
    dataVersion: '3.0',
    metadataVersion: '1',
  };
}
