import type { StackDescriptor } from '../../local/stack/descriptor.js';

export const API_VERSION = '2018-05-01';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A thin client for the Batch AI REST API of a running stack: ARM paths, the api-version, the function key. */
export class BatchAiApi {
  readonly base: string;
  readonly key: string;
  readonly sub: string;
  readonly rg: string;

  constructor(descriptor: StackDescriptor) {
    if (!descriptor.functions) throw new Error('the stack runs no Functions host');
    this.base = descriptor.functions.apiBaseUrl;
    this.key = descriptor.functions.masterKey ?? '';
    this.sub = descriptor.subscriptionId;
    this.rg = descriptor.resourceGroup;
  }

  workspacePath(ws: string): string {
    return `/subscriptions/${this.sub}/resourceGroups/${this.rg}/providers/Microsoft.BatchAI/workspaces/${ws}`;
  }

  clusterId(ws: string, cluster: string): string {
    return `${this.workspacePath(ws)}/clusters/${cluster}`;
  }

  jobPath(ws: string, exp: string, job: string): string {
    return `${this.workspacePath(ws)}/experiments/${exp}/jobs/${job}`;
  }

  async call<T = unknown>(
    method: string,
    pathOrUrl: string,
    options: {
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
      apiVersion?: string | null;
      key?: string | null;
      /** A bearer token: sent instead of the function key. */
      bearer?: string;
    } = {},
  ): Promise<ApiResponse<T>> {
    const url = new URL(pathOrUrl.startsWith('http') ? pathOrUrl : `${this.base}${pathOrUrl}`);
    if (options.apiVersion !== null && !url.searchParams.has('api-version')) {
      url.searchParams.set('api-version', options.apiVersion ?? API_VERSION);
    }
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? (options.bearer ? null : this.key) : options.key;
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    if (key !== null) headers['x-functions-key'] = key;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON; keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  /**
   * A workspace with one experiment and one cluster (default cluster body unless given), failing loudly if any
   * PUT is refused. Returns the cluster's resource id, for jobs' `cluster.id`.
   */
  async seedWorkspace(
    ws: string,
    options: { experiment?: string; cluster?: string; clusterProperties?: Record<string, unknown> } = {},
  ): Promise<string> {
    const { experiment = 'exp', cluster = 'c1' } = options;
    const clusterProperties = options.clusterProperties ?? {
      vmSize: 'STANDARD_NC6',
      userAccountSettings: { adminUserName: 'admin', adminUserPassword: 'seed-Pa55' },
    };
    const puts: Array<[string, unknown, number]> = [
      [this.workspacePath(ws), { location: 'local' }, 200],
      [`${this.workspacePath(ws)}/experiments/${experiment}`, {}, 200],
      [`${this.workspacePath(ws)}/clusters/${cluster}`, { properties: clusterProperties }, 202],
    ];
    for (const [path, body, expected] of puts) {
      // The PUTs are idempotent: a 5xx of a stack still warming up (e.g. a Cosmos connection reset on its first
      // write) is retried, and a retry may find the resource already created.
      let response = await this.call('PUT', path, { body });
      for (let attempt = 1; attempt < 4 && response.status >= 500; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
        response = await this.call('PUT', path, { body });
      }
      const ok = response.status === expected || (expected === 202 && response.status === 200);
      if (!ok) throw new Error(`PUT ${path}: ${response.status} ${response.text}`);
    }
    return this.clusterId(ws, cluster);
  }

  /** Follows an ARM long-running operation's Location until it stops answering 202. */
  async waitForOperation(location: string, timeoutMs = 30_000): Promise<ApiResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await this.call('GET', location);
      if (response.status !== 202) return response;
      if (Date.now() > deadline) throw new Error(`operation ${location} still running after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
