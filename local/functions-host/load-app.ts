// Loads a Functions v4 Node app the way the worker does: provide `@azure/functions-core`, import the
// entry point(s) named by package.json `main`, capture every registerFunction, then check that every
// trigger and binding type has an owner (a built-in provider or a HostExtension).

import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BindingProvider, extensionBindingProvider, findProvider } from './binding-provider.js';
import { builtinBindingProviders } from './builtin-bindings.js';
import type { BindingMetadata, FunctionInvoker, HostExtension, HostLogger, RegisteredFunction } from './contracts.js';
import { type CoreRegistry, installFunctionsCore } from './functions-core.js';
import { createInvoker } from './invoke-function.js';
import { parseTimeSpanMs, queueSettings } from './queue-settings.js';
import { resolveEntryPoints } from './resolve-entry-points.js';

export interface LoadAppOptions {
  /** Extensions that own trigger / input binding types (e.g. the Durable backend). */
  extensions?: readonly HostExtension[];
  /** The host's own providers; defaults to every built-in trigger and storage binding. */
  providers?: readonly BindingProvider[];
  log?: HostLogger;
}

export interface LoadedApp {
  functions: RegisteredFunction[];
  invoker: FunctionInvoker;
  hostJson: Record<string, unknown>;
  /** Entry-point files that were imported, in order. */
  entryPoints: string[];
  /** Runs the app's appStart / appTerminate hooks (registered with app.hook.*). */
  runAppHook(name: 'appStart' | 'appTerminate'): Promise<void>;
}

/** A start error that names its cause; main.ts prints its message and exits 1. */
export class AppLoadError extends Error {
  override name = 'AppLoadError';
}

const silentLog: HostLogger = { info() {}, warn() {}, error() {} };

async function readHostJson(appDir: string): Promise<Record<string, unknown>> {
  const file = path.join(appDir, 'host.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { version: '2.0' };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new AppLoadError(`The app's host.json (${file}) is not valid JSON: ${(err as Error).message}`);
  }
}

/** Where a syntax error is: `node --check` prints `file:line`, the source line and a caret. */
function syntaxErrorLocation(file: string): string | undefined {
  const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const lines = (r.stderr ?? '').split('\n');
  const at = lines.findIndex((l) => l.startsWith(file) || l.startsWith('file://'));
  if (at < 0) return undefined;
  return lines
    .slice(at, at + 3)
    .map((l) => l.trimEnd())
    .join('\n');
}

function describeImportError(file: string, err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const base = `Failed to load the app's entry point ${file}: ${e.name}: ${e.message}`;
  if (e.name === 'SyntaxError') {
    const where = syntaxErrorLocation(file);
    if (where) return `${base}\n${where}`;
  }
  // A runtime error while the module body runs: its first stack frame inside the app says where.
  const frame = (e.stack ?? '').split('\n').find((l) => l.includes('file://') && !l.includes('node_modules'));
  return frame ? `${base} (${frame.trim()})` : base;
}

function toRegisteredFunction(registry: CoreRegistry, index: number): RegisteredFunction {
  const { metadata } = registry.registrations[index]!;
  const bindings: Record<string, BindingMetadata> = {};
  for (const [name, b] of Object.entries(metadata.bindings ?? {})) bindings[name] = { ...b, name };
  const triggers = Object.entries(bindings).filter(([, b]) => b.direction === 'in' && /trigger$/i.test(b.type));
  if (triggers.length !== 1) {
    throw new AppLoadError(
      `Function "${metadata.name}" must have exactly one trigger binding, found ${triggers.length}`,
    );
  }
  const [triggerName, triggerBinding] = triggers[0]!;
  return {
    name: metadata.name,
    bindings,
    retryOptions: metadata.retryOptions,
    trigger: { name: triggerName, binding: triggerBinding },
  };
}

function validate(functions: readonly RegisteredFunction[], providers: readonly BindingProvider[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const fn of functions) {
    const key = fn.name.toLowerCase();
    if (seen.has(key)) problems.push(`Function "${fn.name}" is registered more than once`);
    seen.add(key);
    for (const [name, binding] of Object.entries(fn.bindings)) {
      const isTrigger = name === fn.trigger.name;
      const kind = isTrigger ? 'triggerTypes' : binding.direction === 'in' ? 'inputBindingTypes' : 'outputBindingTypes';
      const provider = findProvider(providers, kind, binding.type);
      if (!provider) {
        const what = isTrigger ? 'trigger' : binding.direction === 'in' ? 'input binding' : 'output binding';
        const supported = [...new Set(providers.flatMap((p) => p[kind] ?? []))].join(', ');
        problems.push(
          `Function "${fn.name}": unsupported ${what} type "${binding.type}" (binding "${name}"); this host supports: ${supported}`,
        );
        continue;
      }
      const problem = provider.validate?.(fn, binding);
      if (problem) problems.push(`Function "${fn.name}": ${problem}`);
    }
  }
  return problems;
}

export async function loadFunctionApp(appDir: string, options: LoadAppOptions = {}): Promise<LoadedApp> {
  const log = options.log ?? silentLog;
  const dir = path.resolve(appDir);
  const extensions = options.extensions ?? [];
  const hostJson = await readHostJson(dir);
  const providers: BindingProvider[] = [
    ...(options.providers ?? builtinBindingProviders(() => queueSettings(hostJson))),
    ...extensions.map(extensionBindingProvider),
  ];
  let entryPoints: string[];
  try {
    entryPoints = await resolveEntryPoints(dir);
  } catch (err) {
    throw new AppLoadError((err as Error).message);
  }

  const registry = installFunctionsCore((level, category, message) => {
    const fields = { category, source: 'worker' };
    if (level === 'error' || level === 'critical') log.error(message, fields);
    else if (level === 'warning') log.warn(message, fields);
    else if (level !== 'trace' && level !== 'debug' && level !== 'none') log.info(message, fields);
  });

  for (const file of entryPoints) {
    try {
      await import(pathToFileURL(file).href);
    } catch (err) {
      throw new AppLoadError(describeImportError(file, err));
    }
  }

  if (registry.registrations.length > 0 && !registry.programmingModel) {
    throw new AppLoadError('The app registered functions but set no programming model; is @azure/functions v4 loaded?');
  }
  if (registry.registrations.length === 0) {
    throw new AppLoadError(
      `The app at ${dir} registered no functions (entry points: ${entryPoints.join(', ')}). If @azure/functions ` +
        'printed "Switching to test mode", it was loaded before the host could provide @azure/functions-core.',
    );
  }

  const pm = registry.programmingModel!;
  // The worker asks the programming model for its capabilities at init (this also locks app.setup()).
  const capabilities = await pm.getCapabilities({});
  if (capabilities.HttpUri) {
    throw new AppLoadError(
      'The app enables HTTP streaming (app.setup({ enableHttpStream: true })); the local host does not support it',
    );
  }

  const functions = registry.registrations.map((_, i) => toRegisteredFunction(registry, i));
  const problems = validate(functions, providers);
  if (problems.length > 0) throw new AppLoadError(`The app cannot be hosted:\n  ${problems.join('\n  ')}`);

  const timeout = hostJson.functionTimeout;
  const timeoutMs =
    timeout === undefined || timeout === null || timeout === '-1' ? undefined : parseTimeSpanMs(timeout);
  if (timeout !== undefined && timeout !== null && timeout !== '-1' && !timeoutMs) {
    throw new AppLoadError(`host.json functionTimeout "${String(timeout)}" is not a TimeSpan like "00:10:00"`);
  }
  const invoker = createInvoker({ registry, functions, providers, log, timeoutMs });
  return {
    functions,
    invoker,
    hostJson,
    entryPoints,
    async runAppHook(name) {
      for (const hook of registry.hooks.get(name) ?? []) {
        await hook({
          hookData: {},
          appHookData: registry.appHookData,
          ...(name === 'appStart' ? { functionAppDirectory: dir } : {}),
        });
      }
    },
  };
}
