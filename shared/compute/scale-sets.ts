import type { VirtualMachineScaleSet } from '@azure/arm-compute';

// The compute role the lifecycles need: VM scale sets and their instances. ArmScaleSets implements it over
// @azure/arm-compute, against Azure Resource Manager or the local compute emulator (same code path).

export interface ScaleSetState {
  name: string;
  capacity: number;
  provisioningState?: string;
}

export interface ScaleSetInstance {
  instanceId: string;
  /** The VM name, e.g. `bai-c…_3` (the node id in the API). */
  name: string;
  vmId?: string;
  provisioningState?: string;
  /** `running`, `deallocated`, `stopped`, … when the instance view was returned. */
  powerState?: string;
}

export interface ScaleSets {
  /** Creates the scale set, or updates it to this definition (idempotent PUT); returns once it is provisioned. */
  createOrUpdate(name: string, definition: VirtualMachineScaleSet): Promise<ScaleSetState>;
  get(name: string): Promise<ScaleSetState | undefined>;
  /** Scale out or in to `capacity` (scaling in removes instances of the platform's choosing: prefer deleteInstances). */
  setCapacity(name: string, capacity: number): Promise<void>;
  listInstances(name: string): Promise<ScaleSetInstance[]>;
  /** Deletes these instances; the scale set's capacity drops by as many. */
  deleteInstances(name: string, instanceIds: readonly string[]): Promise<void>;
  /** Deletes the scale set and every instance; deleting one that does not exist is not an error. */
  delete(name: string): Promise<void>;
  restartInstance(name: string, instanceId: string): Promise<void>;
  reimageInstance(name: string, instanceId: string): Promise<void>;
}

/** A compute request that failed with an ARM error; `code` is ARM's (e.g. OperationNotAllowed for quota). */
export class ComputeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode?: number,
    /** ARM could not be reached, throttled or failed on its side: worth retrying as is (not the request's fault). */
    readonly transient = false,
  ) {
    super(message);
    this.name = 'ComputeError';
  }
}

/** An instance is healthy unless the platform says it is gone: failed, deleting, deallocated or stopped. */
export function isHealthyInstance(instance: ScaleSetInstance): boolean {
  const provisioning = instance.provisioningState?.toLowerCase();
  if (provisioning === 'failed' || provisioning === 'deleting') return false;
  const power = instance.powerState?.toLowerCase();
  return power === undefined || power === 'running' || power === 'starting';
}
