// The seam between the generic Functions host (trigger plumbing, invocation) and extensions that own
// trigger types of their own (the Durable backend owns orchestration/activity triggers and the
// durableClient binding). The host knows nothing about Durable; the backend knows nothing about HTTP
// servers or queues. Both sides code against this file only.

/** The worker protocol's typed data, as `@azure/functions` reads it (see functions-host-protocol.md §1). */
export interface RpcTypedData {
  string?: string;
  json?: string;
  bytes?: Uint8Array;
  int?: number;
  double?: number;
  http?: unknown;
}

export interface BindingMetadata {
  type: string;
  direction: 'in' | 'out' | 'inout';
  name?: string;
  [setting: string]: unknown;
}

/** One `registerFunction` call captured from the app. `bindings` is keyed by binding name. */
export interface RegisteredFunction {
  name: string;
  bindings: Record<string, BindingMetadata>;
  retryOptions?: unknown;
  /** The binding whose direction is 'in' and whose type ends in 'Trigger'. */
  trigger: { name: string; binding: BindingMetadata };
}

export type InvocationResult = { ok: true; returnValue: RpcTypedData | undefined } | { ok: false; error: Error };

export interface FunctionInvoker {
  /**
   * Invokes a registered function the way the Node worker does (getInvocationModel → getArguments →
   * invokeFunction → getResponse). Extra 'in' bindings are filled by the extension that owns their type.
   * A handler that throws yields `{ ok: false, error }` (the Durable orchestrator reports failure by throwing).
   */
  invoke(
    functionName: string,
    triggerData: RpcTypedData,
    triggerMetadata?: Record<string, RpcTypedData>,
  ): Promise<InvocationResult>;
}

export interface HostLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface ExtensionContext {
  functions: readonly RegisteredFunction[];
  invoker: FunctionInvoker;
  /** e.g. http://127.0.0.1:7071 — the host's own HTTP base URL, no trailing slash. */
  baseUrl: string;
  /** A directory owned by this extension, persistent across host restarts. */
  dataDir: string;
  /** The app's parsed host.json. */
  hostJson: Record<string, unknown>;
  log: HostLogger;
  /**
   * (Added by the host, optional for compatibility.) The system key `<x>_extension` that the host requires,
   * as `code` query parameter or `x-functions-key` header, on this extension's `/runtime/webhooks/<x>/`
   * prefix — e.g. `durabletask_extension`; put it in public URLs you hand out (`code=<systemKey>`).
   * Prefixes outside `/runtime/webhooks/` (e.g. `/durabletask/`, the durable client's rpc endpoint) are
   * served without a key, and only on the host's internal listener (`internalBaseUrl`), never on its public
   * port — as Azure's host serves that endpoint on an internal port.
   */
  systemKey?: string;
  /** e.g. http://127.0.0.1:41234 — the internal loopback listener for keyless prefixes (use it for `rpcBaseUrl`). */
  internalBaseUrl?: string;
}

export interface ExtensionHttpRequest {
  method: string;
  /** Path without the query string, e.g. /runtime/webhooks/durabletask/instances/abc */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ExtensionHttpResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface HostExtension {
  readonly name: string;
  /** Trigger binding types this extension invokes, e.g. ['orchestrationTrigger', 'activityTrigger']. */
  readonly triggerTypes: readonly string[];
  /** Input binding types whose data this extension supplies, e.g. ['durableClient']. */
  readonly inputBindingTypes: readonly string[];
  /** Path prefixes this extension serves on the host's HTTP port, e.g. ['/runtime/webhooks/durabletask/']. */
  readonly httpPathPrefixes: readonly string[];
  start(ctx: ExtensionContext): Promise<void>;
  /** Data for an extra input binding of one of `inputBindingTypes`, given to every invocation that declares it. */
  inputBindingData(binding: BindingMetadata, functionName: string): RpcTypedData;
  handleHttp(req: ExtensionHttpRequest): Promise<ExtensionHttpResponse>;
  /** Stops dispatching new work and waits (bounded) for work in flight. */
  stop(): Promise<void>;
}
