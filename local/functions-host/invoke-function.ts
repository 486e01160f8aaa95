// Invokes a registered function exactly as the Node worker's InvocationHandler does:
// getInvocationModel → getArguments → preInvocation hooks → invokeFunction → postInvocation hooks →
// getResponse; then the host's part: output bindings are written by the provider that owns their type.

import { randomUUID } from 'node:crypto';
import { type BindingProvider, findProvider, type InvocationBindingContext, sameType } from './binding-provider.js';
import type { FunctionInvoker, HostLogger, InvocationResult, RegisteredFunction, RpcTypedData } from './contracts.js';
import { describeError } from './describe-error.js';
import type {
  CapturedRegistration,
  CoreInvocationContext,
  CoreLogCategory,
  CoreLogLevel,
  CoreRegistry,
} from './functions-core.js';

export const RETURN_BINDING = '$return';

export interface InvokerDeps {
  registry: CoreRegistry;
  functions: readonly RegisteredFunction[];
  providers: readonly BindingProvider[];
  log: HostLogger;
  /** host.json functionTimeout: an invocation still running after this fails (its code is not stopped). */
  timeoutMs?: number;
}

export class FunctionTimeoutError extends Error {
  override name = 'FunctionTimeoutError';
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number | undefined, functionName: string): Promise<T> {
  if (!timeoutMs) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new FunctionTimeoutError(`Timeout value of ${timeoutMs} ms exceeded by function '${functionName}'`)),
      timeoutMs,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function logAt(log: HostLogger, level: CoreLogLevel, msg: string, fields: Record<string, unknown>): void {
  if (level === 'none') return;
  if (level === 'error' || level === 'critical') log.error(msg, { ...fields, level });
  else if (level === 'warning') log.warn(msg, fields);
  else log.info(msg, level === 'information' ? fields : { ...fields, level });
}

async function runHooks(
  registry: CoreRegistry,
  name: 'preInvocation' | 'postInvocation',
  ctx: Record<string, unknown>,
) {
  for (const hook of registry.hooks.get(name) ?? []) await hook(ctx);
}

export function createInvoker(deps: InvokerDeps): FunctionInvoker {
  const { registry, providers, log } = deps;
  const byName = new Map<string, { fn: RegisteredFunction; reg: CapturedRegistration }>();
  for (const fn of deps.functions) {
    const reg = registry.registrations.find((r) => r.metadata.name === fn.name);
    if (reg) byName.set(fn.name.toLowerCase(), { fn, reg });
  }
  const appHookData = registry.appHookData;

  async function invokeOnce(
    fn: RegisteredFunction,
    reg: CapturedRegistration,
    triggerData: RpcTypedData,
    triggerMetadata: Record<string, RpcTypedData>,
  ): Promise<RpcTypedData | undefined> {
    const pm = registry.programmingModel;
    if (!pm) throw new Error('The app did not set a programming model (is @azure/functions loaded?)');
    const invocationId = randomUUID();
    const bindingCtx: InvocationBindingContext = { functionName: fn.name, invocationId, triggerData, triggerMetadata };

    const inputData: { name: string; data: RpcTypedData }[] = [{ name: fn.trigger.name, data: triggerData }];
    for (const [name, binding] of Object.entries(fn.bindings)) {
      if (name === fn.trigger.name || binding.direction !== 'in') continue;
      const provider = findProvider(providers, 'inputBindingTypes', binding.type);
      const data = provider?.readInput ? await provider.readInput(binding, bindingCtx) : undefined;
      if (data !== undefined) inputData.push({ name, data });
    }

    const coreCtx: CoreInvocationContext = {
      invocationId,
      metadata: reg.metadata,
      request: { invocationId, inputData, triggerMetadata },
      log(level: CoreLogLevel, category: CoreLogCategory, message: string) {
        logAt(log, level, message, { functionName: fn.name, invocationId, category });
      },
    };
    const model = pm.getInvocationModel(coreCtx);
    const { context, inputs } = await model.getArguments();

    const hookData: Record<string, unknown> = {};
    const pre: Record<string, unknown> = {
      hookData,
      appHookData,
      invocationContext: context,
      inputs,
      functionCallback: reg.callback,
    };
    coreCtx.state = 'preInvocationHooks';
    await runHooks(registry, 'preInvocation', pre);
    coreCtx.state = 'invocation';

    let result: unknown;
    let error: unknown;
    try {
      result = await model.invokeFunction(
        context,
        pre.inputs as unknown[],
        pre.functionCallback as CapturedRegistration['callback'],
      );
    } catch (err) {
      error = err;
    }
    const post: Record<string, unknown> = {
      hookData,
      appHookData,
      invocationContext: context,
      inputs: pre.inputs,
      result,
      error,
    };
    coreCtx.state = 'postInvocationHooks';
    await runHooks(registry, 'postInvocation', post);
    coreCtx.state = undefined;
    if (post.error !== undefined && post.error !== null) throw post.error;

    const response = await model.getResponse(context, post.result);
    const returnValue = response.returnValue ?? undefined;

    // Output bindings: the host writes them only after a successful invocation.
    for (const [name, binding] of Object.entries(fn.bindings)) {
      if (binding.direction !== 'out' || sameType(binding.type, 'http')) continue;
      const data =
        name === RETURN_BINDING ? returnValue : (response.outputData?.find((o) => o.name === name)?.data ?? undefined);
      if (data === undefined || data === null) continue;
      const provider = findProvider(providers, 'outputBindingTypes', binding.type);
      if (!provider?.writeOutput) throw new Error(`No provider writes output bindings of type "${binding.type}"`);
      await provider.writeOutput(binding, data, bindingCtx);
    }
    return returnValue;
  }

  return {
    async invoke(functionName, triggerData, triggerMetadata = {}): Promise<InvocationResult> {
      const entry = byName.get(functionName.toLowerCase());
      if (!entry) return { ok: false, error: new Error(`No function named "${functionName}" is registered`) };
      const started = performance.now();
      try {
        const returnValue = await withTimeout(
          invokeOnce(entry.fn, entry.reg, triggerData, triggerMetadata),
          deps.timeoutMs,
          entry.fn.name,
        );
        log.info('Executed function', {
          functionName: entry.fn.name,
          succeeded: true,
          durationMs: Math.round(performance.now() - started),
        });
        return { ok: true, returnValue };
      } catch (err) {
        const error = toError(err);
        const described = describeError(error);
        log.warn('Executed function', {
          functionName: entry.fn.name,
          succeeded: false,
          durationMs: Math.round(performance.now() - started),
          error: described.message,
          ...(described.details ? { details: described.details } : {}),
        });
        return { ok: false, error };
      }
    },
  };
}
