// Who owns which binding type. The host's built-in triggers, the storage bindings and every HostExtension
// are all seen by the loader and the invoker as BindingProviders: a registration whose trigger or binding
// type no provider claims is rejected at start.

import type { BindingMetadata, HostExtension, RegisteredFunction, RpcTypedData } from './contracts.js';

export interface InvocationBindingContext {
  functionName: string;
  invocationId: string;
  triggerData: RpcTypedData;
  triggerMetadata: Record<string, RpcTypedData>;
}

export interface BindingProvider {
  readonly name: string;
  readonly triggerTypes?: readonly string[];
  readonly inputBindingTypes?: readonly string[];
  readonly outputBindingTypes?: readonly string[];
  /** A problem with this binding's settings (e.g. a queue trigger without queueName), checked at start. */
  validate?(fn: RegisteredFunction, binding: BindingMetadata): string | undefined;
  /** Data for an extra 'in' binding of one of `inputBindingTypes`; undefined = no data (null input). */
  readInput?(binding: BindingMetadata, ctx: InvocationBindingContext): Promise<RpcTypedData | undefined>;
  /** Writes one 'out' binding's value (already converted by the library with toRpcTypedData). */
  writeOutput?(binding: BindingMetadata, data: RpcTypedData, ctx: InvocationBindingContext): Promise<void>;
}

/** A HostExtension seen as a provider: it owns its trigger types and supplies its input bindings' data. */
export function extensionBindingProvider(ext: HostExtension): BindingProvider {
  return {
    name: `extension:${ext.name}`,
    triggerTypes: ext.triggerTypes,
    inputBindingTypes: ext.inputBindingTypes,
    outputBindingTypes: [],
    readInput: async (binding, ctx) => ext.inputBindingData(binding, ctx.functionName),
  };
}

export function sameType(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function findProvider(
  providers: readonly BindingProvider[],
  kind: 'triggerTypes' | 'inputBindingTypes' | 'outputBindingTypes',
  type: string,
): BindingProvider | undefined {
  return providers.find((p) => (p[kind] ?? []).some((t) => sameType(t, type)));
}
