// Provides the `@azure/functions-core` module that the Node worker normally injects. `@azure/functions`
// (CommonJS) does `require('@azure/functions-core')` the first time a function is registered and, if that
// fails, switches to "test mode" for good, dropping every registration. So this module must be resolvable
// before the app's entry point loads. Like the real worker, we wrap `Module.prototype.require`: every CJS
// `require` (including the one inside node_modules/@azure/functions, even when the app itself is ESM and
// imports the library) goes through it.

import Module from 'node:module';
import type { BindingMetadata, RpcTypedData } from './contracts.js';

export const FUNCTIONS_CORE_MODULE = '@azure/functions-core';

/** The subset of the worker's core types (`types-core/index.d.ts` in the library repo) that we use. */
export type CoreLogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';
export type CoreLogCategory = 'user' | 'system' | 'customMetric';

export interface CoreFunctionMetadata {
  name: string;
  bindings: Record<string, BindingMetadata>;
  retryOptions?: unknown;
}

export type CoreFunctionCallback = (...args: unknown[]) => unknown;

export interface CoreInvocationRequest {
  invocationId: string;
  inputData: { name: string; data: RpcTypedData }[];
  triggerMetadata: Record<string, RpcTypedData>;
}

export interface CoreInvocationContext {
  invocationId: string;
  metadata: CoreFunctionMetadata;
  request: CoreInvocationRequest;
  state?: 'preInvocationHooks' | 'postInvocationHooks' | 'invocation';
  log(level: CoreLogLevel, category: CoreLogCategory, message: string): void;
}

export interface CoreInvocationResponse {
  invocationId: string;
  outputData?: { name: string; data: RpcTypedData | null | undefined }[];
  returnValue?: RpcTypedData | null;
}

export interface CoreInvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: CoreFunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<CoreInvocationResponse>;
}

export interface CoreProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: CoreInvocationContext): CoreInvocationModel;
  getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

export type CoreHookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation' | 'log';
export type CoreHookCallback = (context: Record<string, unknown>) => unknown;

export interface CapturedRegistration {
  metadata: CoreFunctionMetadata;
  callback: CoreFunctionCallback;
}

/** What the shim has captured from the app so far. One app per process (the library caches the core API). */
export interface CoreRegistry {
  registrations: CapturedRegistration[];
  programmingModel: CoreProgrammingModel | undefined;
  hooks: Map<CoreHookName, CoreHookCallback[]>;
  /** Shared by every hook for the app's lifetime (the worker's appHookData). */
  appHookData: Record<string, unknown>;
  systemLog(level: CoreLogLevel, category: CoreLogCategory, message: string): void;
}

class Disposable {
  #callback: (() => void) | undefined;
  constructor(callback: () => void) {
    this.#callback = callback;
  }
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => {
      for (const item of items) item.dispose();
    });
  }
  dispose(): void {
    this.#callback?.();
    this.#callback = undefined;
  }
}

const HOOK_NAMES: readonly CoreHookName[] = ['appStart', 'appTerminate', 'preInvocation', 'postInvocation', 'log'];

let registry: CoreRegistry | undefined;
let installed = false;

function currentRegistry(): CoreRegistry {
  if (!registry) throw new Error('@azure/functions-core was used before the local host installed a registry');
  return registry;
}

/** The object `require('@azure/functions-core')` returns. Stable: the library caches it. */
const coreApi = {
  version: '3.10.1',
  hostVersion: '4.1037.0.0 (local functions-host)',
  Disposable,
  registerFunction(metadata: CoreFunctionMetadata, callback: CoreFunctionCallback): Disposable {
    const reg = currentRegistry();
    const entry: CapturedRegistration = { metadata, callback };
    reg.registrations.push(entry);
    return new Disposable(() => {
      const i = reg.registrations.indexOf(entry);
      if (i >= 0) reg.registrations.splice(i, 1);
    });
  },
  setProgrammingModel(pm: CoreProgrammingModel): void {
    currentRegistry().programmingModel = pm;
  },
  getProgrammingModel(): CoreProgrammingModel | undefined {
    return currentRegistry().programmingModel;
  },
  registerHook(hookName: string, callback: CoreHookCallback): Disposable {
    if (!(HOOK_NAMES as readonly string[]).includes(hookName)) {
      // The worker throws a RangeError for hook names it does not know; the library relies on that.
      throw new RangeError(`Unrecognized hook "${hookName}"`);
    }
    const reg = currentRegistry();
    const name = hookName as CoreHookName;
    const list = reg.hooks.get(name) ?? [];
    list.push(callback);
    reg.hooks.set(name, list);
    return new Disposable(() => {
      const i = list.indexOf(callback);
      if (i >= 0) list.splice(i, 1);
    });
  },
  log(level: CoreLogLevel, category: CoreLogCategory, message: string): void {
    currentRegistry().systemLog(level, category, message);
  },
};

/**
 * Makes `require('@azure/functions-core')` return our core API from now on, and starts a fresh registry
 * that captures the app's registrations. Call before importing the app's entry point.
 */
export function installFunctionsCore(systemLog: CoreRegistry['systemLog']): CoreRegistry {
  // @azure/functions sets its programming model once per process: keep it for a later registry.
  registry = {
    registrations: [],
    programmingModel: registry?.programmingModel,
    hooks: new Map(),
    appHookData: {},
    systemLog,
  };
  if (!installed) {
    const proto = Module.prototype as unknown as { require: (this: unknown, id: string) => unknown };
    const originalRequire = proto.require;
    proto.require = function requireWithFunctionsCore(this: unknown, id: string): unknown {
      if (id === FUNCTIONS_CORE_MODULE) return coreApi;
      return originalRequire.call(this, id);
    };
    installed = true;
  }
  return registry;
}
