import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { ApiDeps } from '../../shared/api/api-deps.js';
import type { Settings } from '../../shared/config/settings.js';
import { ApiError, createApiError, RetriableApiError } from '../../shared/domain/api-errors.js';
import { describeJsonSyntaxError } from '../../shared/domain/json-text.js';
import {
  type BatchAiResourceId,
  type BatchAiResourceKind,
  parseBatchAiResourceIdOf,
} from '../../shared/domain/resource-id.js';
import type { CallAuth } from './authorize.js';
import { checkBodyLimits, checkBodySize } from './request-limits.js';

// ARM conventions shared by every route: api-version, JSON bodies, error bodies, long-running operations,
// paging with nextLink, request ids. Routes stay one line of translation each.

export const API_VERSION = '2018-05-01';
export const PROVIDER = 'Microsoft.BatchAI';
/** host.json's extensions.http.routePrefix (the Functions default): ARM paths start after it. */
export const ROUTE_PREFIX = 'api';
/** Seconds a poller should wait between polls: short, because work here is woken immediately. */
export const RETRY_AFTER_SECONDS = 1;

export interface ArmCall {
  request: HttpRequest;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Where ARM paths start, from the configured public base URL (never the request's Host header). */
  apiBase: string;
  /** Who is calling, as the authorization point recognised them (keys rate limits). */
  principal?: unknown;
  deps: ApiDeps & { settings: Settings };
  context: InvocationContext;
  /** Who is calling (authenticated and authorized before the handler runs); see authorize.ts. */
  auth: CallAuth;
  body(): Promise<unknown>;
}

export type ArmHandler = (call: ArmCall) => Promise<HttpResponseInit>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } };
}

export function checkApiVersion(query: URLSearchParams): void {
  const version = query.get('api-version');
  if (!version) throw createApiError('MissingApiVersionParameter', { supported: API_VERSION });
  if (version !== API_VERSION) {
    throw createApiError('InvalidApiVersionParameter', { apiVersion: version, supported: API_VERSION });
  }
}

/** Reads a JSON body: absent → undefined; too large → 413; not JSON or over a limit → 415/400 naming the problem. */
export async function readJsonBody(request: HttpRequest): Promise<unknown> {
  const bytes = Buffer.from(await request.arrayBuffer());
  checkBodySize(bytes.length);
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  const contentType = request.headers.get('content-type') ?? 'application/json';
  if (!/^application\/(.+\+)?json\b/i.test(contentType) && !/^text\/json\b/i.test(contentType)) {
    throw createApiError('UnsupportedMediaType', { contentType });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw createApiError('InvalidRequestContent', { reason: describeJsonSyntaxError(err) });
  }
  checkBodyLimits(body);
  return body;
}

/**
 * Where ARM paths start for links we hand out (Location, Azure-AsyncOperation, nextLink): the configured public
 * base URL. The Host header is the caller's to choose, so a link built from it could point anywhere.
 */
export function publicApiBase(settings: Pick<Settings, 'publicBaseUrl'>, requestUrl: string): string {
  if (settings.publicBaseUrl) return settings.publicBaseUrl;
  // Without the setting (an app run outside the stack), links stay on loopback at the listener's port.
  const port = new URL(requestUrl).port;
  return `http://127.0.0.1${port ? `:${port}` : ''}/${ROUTE_PREFIX}`;
}

const ID_TEMPLATES: Record<BatchAiResourceKind, (p: Record<string, string>) => string> = {
  workspace: (p) =>
    `/subscriptions/${p.subscriptionId}/resourceGroups/${p.resourceGroupName}/providers/${PROVIDER}/workspaces/${p.workspaceName}`,
  experiment: (p) => `${ID_TEMPLATES.workspace(p)}/experiments/${p.experimentName}`,
  job: (p) => `${ID_TEMPLATES.experiment(p)}/jobs/${p.jobName}`,
  cluster: (p) => `${ID_TEMPLATES.workspace(p)}/clusters/${p.clusterName}`,
  fileServer: (p) => `${ID_TEMPLATES.workspace(p)}/fileServers/${p.fileServerName}`,
};

/** The resource a route addresses, with every name checked (400 naming the bad one). */
export function resourceIdFromPath<K extends BatchAiResourceKind>(
  kind: K,
  params: Record<string, string>,
): Extract<BatchAiResourceId, { kind: K }> {
  const id = ID_TEMPLATES[kind](params);
  const parsed = parseBatchAiResourceIdOf(kind, id);
  if (!parsed.ok) {
    throw createApiError('InvalidResourceId', {
      target: 'path',
      expected: `a Batch AI ${kind}`,
      reason: parsed.reason,
    });
  }
  return parsed.value;
}

export function operationUrls(call: ArmCall, operationId: string): { location: string; asyncOperation: string } {
  const { subscriptionId } = call.params;
  const base = `${call.apiBase}/subscriptions/${subscriptionId}/providers/${PROVIDER}/locations/${call.deps.settings.compute.location}`;
  return {
    location: `${base}/operationresults/${operationId}?api-version=${API_VERSION}`,
    asyncOperation: `${base}/operationStatuses/${operationId}?api-version=${API_VERSION}`,
  };
}

/** 202 Accepted for a long-running operation: poll Location (or Azure-AsyncOperation) until it is done. */
export function accepted(call: ArmCall, operationId: string, body?: unknown): HttpResponseInit {
  const urls = operationUrls(call, operationId);
  return {
    status: 202,
    headers: {
      Location: urls.location,
      'Azure-AsyncOperation': urls.asyncOperation,
      'Retry-After': String(RETRY_AFTER_SECONDS),
      ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    },
    ...(body === undefined ? {} : { jsonBody: body }),
  };
}

/** `{ value, nextLink }`: the next page's link repeats the request with `$skipToken`. */
export function listPage(call: ArmCall, page: { value: unknown[]; continuation?: string }): HttpResponseInit {
  const body: { value: unknown[]; nextLink?: string } = { value: page.value };
  if (page.continuation) {
    const requested = new URL(call.request.url);
    const prefix = `/${ROUTE_PREFIX}/`;
    const path = requested.pathname.startsWith(prefix) ? requested.pathname.slice(prefix.length) : requested.pathname;
    const next = new URL(`${call.apiBase}/${path.replace(/^\/+/, '')}`);
    next.search = requested.search;
    next.searchParams.set('$skipToken', page.continuation);
    body.nextLink = next.toString();
  }
  return json(200, body);
}

export function pagingOptions(query: URLSearchParams): { maxItems: number; continuation?: string } {
  const raw = query.get('maxresults');
  let maxItems = 1000;
  if (raw !== null) {
    maxItems = Number(raw);
    if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 1000) {
      throw createApiError(
        'InvalidPropertyValue',
        { target: 'maxresults', reason: 'must be an integer from 1 to 1000' },
        { target: 'maxresults' },
      );
    }
  }
  const continuation = query.get('$skipToken') ?? undefined;
  return { maxItems, ...(continuation ? { continuation } : {}) };
}

/** ARM error body for anything thrown; a bug becomes a 500 with a correlation id, never a stack trace. */
export function errorResponse(err: unknown, context: InvocationContext): HttpResponseInit {
  if (err instanceof ApiError) {
    const headers: Record<string, string> = {};
    if (err instanceof RetriableApiError && err.retryAfterSeconds !== undefined) {
      headers['Retry-After'] = String(err.retryAfterSeconds);
    }
    return json(err.status, err.toCloudError(), headers);
  }
  const correlationId = randomUUID();
  context.error(`unhandled error ${correlationId}: ${(err as Error)?.stack ?? String(err)}`);
  const internal = createApiError('InternalServerError', { correlationId });
  return json(internal.status, internal.toCloudError(), { 'Retry-After': String(RETRY_AFTER_SECONDS) });
}
