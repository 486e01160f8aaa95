// What the emulator persists: scale sets, their VMs, long-running operations and the event outbox. Every ARM
// write commits here before it is answered, so a restart of the emulator loses nothing it acknowledged.
import type { ArmError } from './arm-errors.js';
import type { ArmEventKind } from './events.js';

export type ProvisioningState = 'Creating' | 'Updating' | 'Succeeded' | 'Failed' | 'Deleting';
export type PowerState = 'starting' | 'running' | 'stopping' | 'stopped' | 'deallocated';
export type Availability = 'Available' | 'Unavailable' | 'Degraded' | 'Unknown';

export interface ScaleSetRecord {
  /** Lowercased subscription/resourceGroup/name (scaleSetKey). */
  key: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  sku: { name: string; tier: string; capacity: number };
  /** The client's model (tags, identity, zones, properties) as last written, minus write-only secrets. */
  model: Record<string, unknown>;
  provisioningState: ProvisioningState;
  uniqueId: string;
  timeCreated: string;
  /** Instance ids increase and are never reused. */
  nextInstanceId: number;
  /** Bumped by every model write; an instance built from an older model has latestModelApplied false. */
  modelVersion: number;
}

export interface InstanceRecord {
  scaleSetKey: string;
  instanceId: number;
  name: string;
  /** New GUID for every created VM (a reimage keeps it, as on Azure). */
  vmId: string;
  vmSize: string;
  modelVersion: number;
  provisioningState: ProvisioningState;
  powerState: PowerState;
  availability: Availability;
  /** The node's remote-login port on 127.0.0.1 (a scale set's inbound NAT port on Azure). */
  port: number;
  timeCreated: string;
  error?: ArmError;
}

export type OperationKind =
  | 'writeScaleSet'
  | 'deleteScaleSet'
  | 'deleteInstances'
  | 'restartInstance'
  | 'reimageInstance'
  | 'startInstance'
  | 'deallocateInstance';

export interface OperationRecord {
  id: string;
  subscriptionId: string;
  location: string;
  kind: OperationKind;
  scaleSetKey: string;
  instanceIds: number[];
  status: 'InProgress' | 'Succeeded' | 'Failed';
  startTime: string;
  endTime?: string;
  error?: ArmError;
  /** What the Resources event of this ARM call says when it completes. */
  event: {
    kind: ArmEventKind;
    resourceUri: string;
    operationName: string;
    httpMethod: string;
    url: string;
    clientRequestId?: string;
  };
}

export interface OutboxEntry {
  seq: number;
  eventId: string;
  eventType: string;
  subject: string;
  payload: string;
  enqueuedAt: number;
  attempts: number;
  publishedAt: number | null;
  lastError: string | null;
}

export interface ComputeStore {
  getScaleSet(key: string): ScaleSetRecord | undefined;
  listScaleSets(): ScaleSetRecord[];
  putScaleSet(record: ScaleSetRecord): void;
  /** Removes the scale set and every instance record it still has. */
  deleteScaleSet(key: string): void;
  listInstances(scaleSetKey: string): InstanceRecord[];
  listAllInstances(): InstanceRecord[];
  getInstance(scaleSetKey: string, instanceId: number): InstanceRecord | undefined;
  putInstance(record: InstanceRecord): void;
  deleteInstance(scaleSetKey: string, instanceId: number): void;
  getOperation(id: string): OperationRecord | undefined;
  putOperation(record: OperationRecord): void;
  operationsInProgress(): OperationRecord[];
  /** Runs `fn` in one transaction: all of its writes commit together or not at all. */
  transaction<T>(fn: () => T): T;
  enqueueEvents(events: { id: string; eventType: string; subject: string; payload: string }[], now: number): void;
  duePublications(now: number, limit: number): OutboxEntry[];
  markPublished(seqs: number[], now: number): void;
  markPublishFailed(seqs: number[], nextAttemptAt: number, error: string): void;
  recentEvents(limit: number): OutboxEntry[];
  close(): void;
}
