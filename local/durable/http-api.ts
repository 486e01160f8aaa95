// The Durable HTTP API: the public management routes under /runtime/webhooks/durabletask/ (behind
// createCheckStatusResponse; key-protected by the host) and the durable client's rpc routes under
// /durabletask/ (rpcBaseUrl: keyless, served only on the host's internal loopback listener, as Azure's host
// serves it on an internal port) are the same paths relative to their prefix, so one routes table serves
// both. Answers on the rpc prefix never carry the system key. Bodies must be JSON and requests from a web
// page (an Origin header) are refused, so no page can post to either prefix. Status codes follow Azure: 202 + Location while the instance is not finished,
// 200 completed, 400 failed/terminated, 404 unknown, 409 start of a running id, 410 event to a finished one.

import type { ExtensionHttpRequest, ExtensionHttpResponse } from '../functions-host/contracts.js';
import type { DurableBackend } from './durable-backend.js';
import type { InstanceRow, RuntimeStatus } from './sqlite-store.js';

/** Public management routes (need the durabletask_extension system key, handed out in the URLs). */
export const DURABLE_PREFIX = '/runtime/webhooks/durabletask/';
/** The durable client's rpc endpoint, loopback and keyless as in Azure (`http://127.0.0.1:17071/durabletask/`). */
export const RPC_PREFIX = '/durabletask/';
const INSTANCE_PLACEHOLDER = 'INSTANCEID';
const DEFAULT_PAGE_SIZE = 100;
const ALL_STATUSES: readonly RuntimeStatus[] = [
  'Pending',
  'Running',
  'Completed',
  'ContinuedAsNew',
  'Failed',
  'Terminated',
  'Suspended',
];

export interface ApiConfig {
  baseUrl: string;
  /** Where the rpc prefix is served (the host's internal listener); defaults to baseUrl. */
  rpcBaseUrl?: string;
  hubName: string;
  /** The host's durabletask_extension key, appended as `code=` to the public URLs. */
  systemKey?: string | undefined;
}

/** The data of the `durableClient` input binding (what df.getClient(context) reads). */
export function durableClientData(cfg: ApiConfig, hubName = cfg.hubName): Record<string, unknown> {
  const root = `${cfg.baseUrl}${DURABLE_PREFIX.slice(0, -1)}`;
  const q = `taskHub=${encodeURIComponent(hubName)}&connection=Storage${cfg.systemKey ? `&code=${encodeURIComponent(cfg.systemKey)}` : ''}`;
  const inst = `${root}/instances/${INSTANCE_PLACEHOLDER}`;
  return {
    taskHubName: hubName,
    creationUrls: {
      createNewInstancePostUri: `${root}/orchestrators/{functionName}[/{instanceId}]?${q}`,
      createAndWaitOnNewInstancePostUri: `${root}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${q}`,
    },
    managementUrls: managementUrls(inst, q),
    baseUrl: root,
    requiredQueryStringParameters: q,
    rpcBaseUrl: `${cfg.rpcBaseUrl ?? cfg.baseUrl}${RPC_PREFIX}`,
  };
}

function managementUrls(inst: string, q: string): Record<string, string> {
  return {
    id: INSTANCE_PLACEHOLDER,
    statusQueryGetUri: `${inst}?${q}`,
    sendEventPostUri: `${inst}/raiseEvent/{eventName}?${q}`,
    terminatePostUri: `${inst}/terminate?reason={text}&${q}`,
    rewindPostUri: `${inst}/rewind?reason={text}&${q}`,
    purgeHistoryDeleteUri: `${inst}?${q}`,
    restartPostUri: `${inst}/restart?${q}`,
    suspendPostUri: `${inst}/suspend?reason={text}&${q}`,
    resumePostUri: `${inst}/resume?reason={text}&${q}`,
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): ExtensionHttpResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

function error(status: number, message: string): ExtensionHttpResponse {
  return json(status, { Message: message });
}

function parseJsonValue(text: string): unknown {
  return text === '' ? null : JSON.parse(text);
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function flag(q: URLSearchParams, name: string, dflt: boolean): boolean {
  const v = q.get(name);
  return v === null ? dflt : v.toLowerCase() === 'true';
}

/**
 * Request body as JSON text (null when empty); throws on invalid JSON. The durable client posts `""` (axios
 * JSON-encodes its empty-string body) when startNew has no input: that means "no input", as in Azure.
 */
function bodyJson(req: ExtensionHttpRequest): string | null {
  const text = req.body.toString('utf8').trim();
  if (text === '' || text === '""') return null;
  JSON.parse(text);
  return text;
}

interface Route {
  method: string;
  pattern: RegExp;
  handle(
    req: ExtensionHttpRequest,
    params: string[],
    api: DurableHttpApi,
  ): ExtensionHttpResponse | Promise<ExtensionHttpResponse>;
}

/** Every entry point of the Durable HTTP API, relative to /runtime/webhooks/durabletask/. */
const ROUTES: readonly Route[] = [
  { method: 'POST', pattern: /^orchestrators\/([^/]+)(?:\/([^/]+))?\/?$/, handle: (r, p, a) => a.startNew(r, p) },
  { method: 'GET', pattern: /^instances\/?$/, handle: (r, _p, a) => a.list(r) },
  { method: 'DELETE', pattern: /^instances\/?$/, handle: (r, _p, a) => a.purgeBy(r) },
  { method: 'GET', pattern: /^instances\/([^/]+)\/?$/, handle: (r, p, a) => a.status(r, p[0]!) },
  { method: 'DELETE', pattern: /^instances\/([^/]+)\/?$/, handle: (_r, p, a) => a.purge(p[0]!) },
  {
    method: 'POST',
    pattern: /^instances\/([^/]+)\/raiseEvent\/([^/]+)\/?$/,
    handle: (r, p, a) => a.raiseEvent(r, p[0]!, p[1]!),
  },
  {
    method: 'POST',
    pattern: /^instances\/([^/]+)\/(terminate|suspend|resume)\/?$/,
    handle: (r, p, a) => a.control(r, p[0]!, p[1] as 'terminate' | 'suspend' | 'resume'),
  },
  {
    method: 'POST',
    pattern: /^instances\/([^/]+)\/(rewind|restart)\/?$/,
    handle: (_r, p) => error(501, `'${p[1]}' is not supported by the local Durable backend.`),
  },
];

export class DurableHttpApi {
  /** The same API for rpc callers: links in its answers carry no system key. */
  private readonly rpcView: DurableHttpApi;

  constructor(
    private readonly backend: DurableBackend,
    private readonly cfg: ApiConfig,
    rpc?: DurableHttpApi,
  ) {
    this.rpcView = rpc ?? new DurableHttpApi(backend, { ...cfg, systemKey: undefined }, this);
  }

  async handle(req: ExtensionHttpRequest): Promise<ExtensionHttpResponse> {
    const prefix = req.path.startsWith(DURABLE_PREFIX)
      ? DURABLE_PREFIX
      : req.path.startsWith(RPC_PREFIX)
        ? RPC_PREFIX
        : undefined;
    if (!prefix) return error(404, 'Not found');
    // A browser adds Origin to cross-site requests; the durable client (axios in the host) never does.
    if (req.headers['origin'] !== undefined) return error(403, 'Requests from web pages are not accepted.');
    const contentType = req.headers['content-type'];
    if (req.body.length > 0 && !(contentType && /^application\/(.+\+)?json\b/i.test(contentType))) {
      return error(415, 'The request body must be JSON (Content-Type: application/json).');
    }
    const rest = req.path.slice(prefix.length);
    let methodMatched = false;
    for (const route of ROUTES) {
      const m = route.pattern.exec(rest);
      if (!m) continue;
      methodMatched = true;
      if (route.method !== req.method.toUpperCase()) continue;
      let params: string[];
      try {
        params = m.slice(1).map((s) => (s === undefined ? '' : decodeURIComponent(s)));
      } catch {
        return error(400, 'Malformed URL');
      }
      return route.handle(req, params, prefix === RPC_PREFIX ? this.rpcView : this);
    }
    return methodMatched ? error(405, 'Method not allowed') : error(404, 'Not found');
  }

  private links(instanceId: string): Record<string, string> {
    const data = durableClientData(this.cfg);
    const urls = data.managementUrls as Record<string, string>;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(urls)) {
      if (k !== 'id') out[k] = v.replace(INSTANCE_PLACEHOLDER, encodeURIComponent(instanceId));
    }
    return out;
  }

  async startNew(req: ExtensionHttpRequest, [name, instanceId]: string[]): Promise<ExtensionHttpResponse> {
    let input: string | null;
    try {
      input = bodyJson(req);
    } catch {
      return error(400, 'The request body is not valid JSON.');
    }
    const r = await this.backend.startNew(name!, instanceId ? instanceId : undefined, input);
    if (r.kind === 'unknownOrchestrator')
      return error(400, `The function '${name}' doesn't exist or is not an orchestrator function.`);
    if (r.kind === 'conflict') {
      return error(409, `An Orchestration instance with the status ${r.status} already exists.`);
    }
    const links = this.links(r.instanceId);
    return json(202, { id: r.instanceId, ...links }, { Location: links.statusQueryGetUri!, 'Retry-After': '10' });
  }

  private statusBody(
    row: InstanceRow,
    q: URLSearchParams,
    showInputDefault: boolean,
    historyKey = 'historyEvents',
  ): Record<string, unknown> {
    const body: Record<string, unknown> = {
      name: row.name,
      instanceId: row.instanceId,
      runtimeStatus: row.status,
      input: flag(q, 'showInput', showInputDefault) && row.input !== null ? parseJsonValue(row.input) : null,
      customStatus: row.customStatus !== null ? parseJsonValue(row.customStatus) : null,
      output: row.output !== null ? parseJsonValue(row.output) : null,
      createdTime: isoSeconds(row.createdAt),
      lastUpdatedTime: isoSeconds(row.lastUpdatedAt),
    };
    if (flag(q, 'showHistory', false)) {
      const withOutput = flag(q, 'showHistoryOutput', false);
      body[historyKey] = this.backend.historyEvents(row.instanceId).map((e) => {
        const { IsPlayed: _p, EventId: _i, ...rest } = e;
        const out: Record<string, unknown> = { ...rest, EventType: eventTypeName(e.EventType) };
        if (!withOutput) delete out.Result;
        return out;
      });
    }
    return body;
  }

  status(req: ExtensionHttpRequest, instanceId: string): ExtensionHttpResponse {
    const row = this.backend.getInstance(instanceId);
    if (!row) return error(404, `No instance with ID '${instanceId}' found.`);
    // The public API names the history `historyEvents`; the durable client (rpc) reads `history`.
    const body = this.statusBody(row, req.query, true, req.path.startsWith(RPC_PREFIX) ? 'history' : 'historyEvents');
    switch (row.status) {
      case 'Completed':
        return json(200, body);
      case 'Failed':
        return json(flag(req.query, 'returnInternalServerErrorOnFailure', false) ? 500 : 400, body);
      case 'Terminated':
        return json(400, body);
      default: {
        const qs = req.query.toString();
        const base = req.path.startsWith(RPC_PREFIX) ? (this.cfg.rpcBaseUrl ?? this.cfg.baseUrl) : this.cfg.baseUrl;
        const location = `${base}${req.path}${qs ? `?${qs}` : ''}`;
        return json(202, body, { Location: location });
      }
    }
  }

  list(req: ExtensionHttpRequest): ExtensionHttpResponse {
    const q = req.query;
    const statuses = parseStatuses(q.get('runtimeStatus'));
    if (statuses === 'invalid') return error(400, 'Invalid runtimeStatus filter.');
    const top = Number(q.get('top') ?? DEFAULT_PAGE_SIZE);
    const pageSize = Number.isFinite(top) && top > 0 ? Math.floor(top) : DEFAULT_PAGE_SIZE;
    const token = req.headers['x-ms-continuation-token'] ?? req.headers['X-Ms-Continuation-Token'];
    let after: { createdAt: number; instanceId: string } | undefined;
    if (token) {
      try {
        after = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
          createdAt: number;
          instanceId: string;
        };
      } catch {
        return error(400, 'Invalid continuation token.');
      }
    }
    const from = q.get('createdTimeFrom');
    const to = q.get('createdTimeTo');
    const rows = this.backend.queryInstances({
      ...(from ? { createdFrom: Date.parse(from) } : {}),
      ...(to ? { createdTo: Date.parse(to) } : {}),
      ...(statuses ? { statuses } : {}),
      ...(after ? { after } : {}),
      limit: pageSize + 1,
    });
    const page = rows.slice(0, pageSize);
    const headers: Record<string, string> = {};
    if (rows.length > pageSize) {
      const last = page[page.length - 1]!;
      headers['x-ms-continuation-token'] = Buffer.from(
        JSON.stringify({ createdAt: last.createdAt, instanceId: last.instanceId }),
      ).toString('base64url');
    }
    return json(
      200,
      page.map((r) => this.statusBody(r, q, false)),
      headers,
    );
  }

  async purge(instanceId: string): Promise<ExtensionHttpResponse> {
    const r = await this.backend.purge(instanceId);
    if (r === 'notFound') return error(404, `No instance with ID '${instanceId}' found.`);
    if (r === 'conflict')
      return error(409, `Instance '${instanceId}' is not in a terminal state and cannot be purged.`);
    return json(200, { instancesDeleted: 1 });
  }

  async purgeBy(req: ExtensionHttpRequest): Promise<ExtensionHttpResponse> {
    const q = req.query;
    const statuses = parseStatuses(q.get('runtimeStatus'));
    if (statuses === 'invalid') return error(400, 'Invalid runtimeStatus filter.');
    const from = q.get('createdTimeFrom');
    const to = q.get('createdTimeTo');
    const n = await this.backend.purgeWhere({
      ...(from ? { createdFrom: Date.parse(from) } : {}),
      ...(to ? { createdTo: Date.parse(to) } : {}),
      ...(statuses ? { statuses } : {}),
    });
    return n === 0 ? error(404, 'No instances matched.') : json(200, { instancesDeleted: n });
  }

  async raiseEvent(req: ExtensionHttpRequest, instanceId: string, eventName: string): Promise<ExtensionHttpResponse> {
    let input: string | null;
    try {
      input = bodyJson(req);
    } catch {
      return error(400, 'The request body is not valid JSON.');
    }
    return controlResponse(await this.backend.raiseEvent(instanceId, eventName, input), instanceId);
  }

  async control(
    req: ExtensionHttpRequest,
    instanceId: string,
    op: 'terminate' | 'suspend' | 'resume',
  ): Promise<ExtensionHttpResponse> {
    // Queued in order with the instance's other messages; a resume of an instance that is not suspended
    // is a no-op when it is processed (as in Azure).
    const reason = req.query.get('reason') ?? '';
    return controlResponse(await this.backend[op](instanceId, reason), instanceId);
  }
}

function controlResponse(r: 'accepted' | 'notFound' | 'gone', instanceId: string): ExtensionHttpResponse {
  if (r === 'notFound') return error(404, `No instance with ID '${instanceId}' found.`);
  if (r === 'gone') return error(410, `Instance '${instanceId}' is already in a terminal state.`);
  return { status: 202 };
}

function parseStatuses(v: string | null): RuntimeStatus[] | undefined | 'invalid' {
  if (!v) return undefined;
  const out: RuntimeStatus[] = [];
  for (const part of v.split(',')) {
    const s = ALL_STATUSES.find((x) => x.toLowerCase() === part.trim().toLowerCase());
    if (!s) return 'invalid';
    out.push(s);
  }
  return out;
}

const EVENT_TYPE_NAMES: Record<number, string> = {
  0: 'ExecutionStarted',
  1: 'ExecutionCompleted',
  2: 'ExecutionFailed',
  3: 'ExecutionTerminated',
  4: 'TaskScheduled',
  5: 'TaskCompleted',
  6: 'TaskFailed',
  7: 'SubOrchestrationInstanceCreated',
  8: 'SubOrchestrationInstanceCompleted',
  9: 'SubOrchestrationInstanceFailed',
  10: 'TimerCreated',
  11: 'TimerFired',
  12: 'OrchestratorStarted',
  13: 'OrchestratorCompleted',
  14: 'EventSent',
  15: 'EventRaised',
  16: 'ContinueAsNew',
  19: 'ExecutionSuspended',
  20: 'ExecutionResumed',
};

function eventTypeName(t: number): string {
  return EVENT_TYPE_NAMES[t] ?? String(t);
}
