import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { ComputeManagementClient, type VirtualMachineScaleSet } from '@azure/arm-compute';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { ComputeError, type ScaleSetInstance, type ScaleSetState, type ScaleSets } from './scale-sets.js';

// ScaleSets over @azure/arm-compute: the same client against Azure Resource Manager (management.azure.com,
// DefaultAzureCredential / managed identity) and against the local compute emulator (its http endpoint and a
// static token: the emulator accepts any bearer token, so nothing secret is involved). Long-running operations
// go through the SDK's own pollers; locally they poll every few milliseconds instead of ARM's seconds.

export interface ArmScaleSetsOptions {
  endpoint: string;
  subscriptionId: string;
  resourceGroup: string;
  /** Defaults to DefaultAzureCredential (managed identity on Azure). */
  credential?: TokenCredential;
  /** Poll interval of long-running operations; ARM's Retry-After is honoured when larger. */
  pollIntervalMs?: number;
  /** A CA to trust for a local https endpoint (self-signed), as the Cosmos client does. */
  caCertPath?: string;
}

/** The token the local stack sends the compute emulator; it accepts any bearer token. */
export const LOCAL_STATIC_TOKEN = 'local-compute-emulator-token';

export function localStaticCredential(): TokenCredential {
  return {
    getToken: async () => ({ token: LOCAL_STATIC_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
}

export function createComputeClient(options: ArmScaleSetsOptions): ComputeManagementClient {
  const credential = options.credential ?? new DefaultAzureCredential();
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const client = new ComputeManagementClient(credential, options.subscriptionId, {
    endpoint,
    ...(endpoint.startsWith('http://') ? { allowInsecureConnection: true } : {}),
    // Throttling and transient faults are the SDK's to retry; our activities retry whole steps on top.
    retryOptions: { maxRetries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 5_000 },
  });
  if (endpoint.startsWith('http://')) {
    // The SDK refuses to send bearer tokens over plain http; the loopback emulator is the one http endpoint we
    // talk to, so the token (a static, non-secret one) is attached by our own policy instead.
    client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
    client.pipeline.addPolicy({
      name: 'staticBearerToken',
      async sendRequest(request, next) {
        const token = await credential.getToken('https://management.azure.com/.default');
        request.headers.set('authorization', `Bearer ${token?.token ?? LOCAL_STATIC_TOKEN}`);
        return next(request);
      },
    });
  }
  if (options.caCertPath) {
    const agent = new Agent({ ca: readFileSync(options.caCertPath), keepAlive: true });
    client.pipeline.addPolicy({
      name: 'pinnedCertificate',
      async sendRequest(request, next) {
        request.agent = agent;
        return next(request);
      },
    });
  }
  return client;
}

export class ArmScaleSets implements ScaleSets {
  private readonly client: ComputeManagementClient;
  private readonly rg: string;
  private readonly poll: { updateIntervalInMs: number };

  constructor(options: ArmScaleSetsOptions & { client?: ComputeManagementClient }) {
    this.client = options.client ?? createComputeClient(options);
    this.rg = options.resourceGroup;
    this.poll = { updateIntervalInMs: options.pollIntervalMs ?? 2_000 };
  }

  async createOrUpdate(name: string, definition: VirtualMachineScaleSet): Promise<ScaleSetState> {
    const result = await armCall(() =>
      this.client.virtualMachineScaleSets.createOrUpdate(this.rg, name, definition, this.poll).pollUntilDone(),
    );
    return stateOf(name, result);
  }

  async get(name: string): Promise<ScaleSetState | undefined> {
    try {
      return stateOf(name, await armCall(() => this.client.virtualMachineScaleSets.get(this.rg, name)));
    } catch (err) {
      if (err instanceof ComputeError && (err.statusCode === 404 || /notfound/i.test(err.code))) return undefined;
      throw err;
    }
  }

  async setCapacity(name: string, capacity: number): Promise<void> {
    await armCall(() =>
      this.client.virtualMachineScaleSets.update(this.rg, name, { sku: { capacity } }, this.poll).pollUntilDone(),
    );
  }

  async listInstances(name: string): Promise<ScaleSetInstance[]> {
    return armCall(async () => {
      const instances: ScaleSetInstance[] = [];
      for await (const vm of this.client.virtualMachineScaleSetVMs.list(this.rg, name, { expand: 'instanceView' })) {
        const power = vm.instanceView?.statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code;
        instances.push({
          instanceId: vm.instanceId ?? String(vm.name?.split('_').pop()),
          name: vm.name ?? `${name}_${vm.instanceId}`,
          ...(vm.vmId ? { vmId: vm.vmId } : {}),
          ...(vm.provisioningState ? { provisioningState: vm.provisioningState } : {}),
          ...(power ? { powerState: power.slice('PowerState/'.length) } : {}),
        });
      }
      return instances;
    });
  }

  async deleteInstances(name: string, instanceIds: readonly string[]): Promise<void> {
    if (instanceIds.length === 0) return;
    await armCall(() =>
      this.client.virtualMachineScaleSets
        .deleteInstances(this.rg, name, { instanceIds: [...instanceIds] }, this.poll)
        .pollUntilDone(),
    );
  }

  async delete(name: string): Promise<void> {
    try {
      await armCall(() => this.client.virtualMachineScaleSets.delete(this.rg, name, this.poll).pollUntilDone());
    } catch (err) {
      if (err instanceof ComputeError && (err.statusCode === 404 || /notfound/i.test(err.code))) return;
      throw err;
    }
  }

  async restartInstance(name: string, instanceId: string): Promise<void> {
    await armCall(() =>
      this.client.virtualMachineScaleSetVMs.restart(this.rg, name, instanceId, this.poll).pollUntilDone(),
    );
  }

  async reimageInstance(name: string, instanceId: string): Promise<void> {
    await armCall(() =>
      this.client.virtualMachineScaleSetVMs.reimage(this.rg, name, instanceId, this.poll).pollUntilDone(),
    );
  }
}

function stateOf(name: string, vmss: VirtualMachineScaleSet): ScaleSetState {
  return {
    name,
    capacity: vmss.sku?.capacity ?? 0,
    ...(vmss.provisioningState ? { provisioningState: vmss.provisioningState } : {}),
  };
}

/** Runs an SDK call and turns its failures into ComputeError with ARM's error code and message. */
async function armCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toComputeError(err);
  }
}

export function toComputeError(err: unknown): ComputeError {
  if (err instanceof ComputeError) return err;
  const e = err as {
    code?: unknown;
    message?: unknown;
    statusCode?: unknown;
    details?: { error?: { code?: string; message?: string } };
    response?: { bodyAsText?: string };
  };
  let code = typeof e.code === 'string' ? e.code : undefined;
  let message = typeof e.message === 'string' ? e.message : String(err);
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const inner = e.details?.error ?? bodyError(e.response?.bodyAsText);
  if (inner?.code) code = inner.code;
  if (inner?.message) message = inner.message;
  // core-lro reports a failed operation only as text: "The long-running operation has failed. <code>. <message>".
  const lro = /^The long-running operation has failed\. ([A-Za-z0-9_.-]+)\. ([\s\S]*)$/.exec(message);
  if (!code && lro) {
    code = lro[1];
    message = lro[2]!;
  }
  // No answer at all (connection refused, reset, timeout), throttling and server errors are transient; an ARM
  // error body or a failed long-running operation is ARM's considered answer to this request.
  const answered = Boolean(inner?.code) || Boolean(lro);
  const transient = (!answered && status === undefined) || status === 429 || (status !== undefined && status >= 500);
  return new ComputeError(code ?? (status ? `Http${status}` : 'ComputeRequestFailed'), message, status, transient);
}

function bodyError(text: string | undefined): { code?: string; message?: string } | undefined {
  if (!text) return undefined;
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return body.error;
  } catch {
    return undefined;
  }
}
