import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import * as df from 'durable-functions';
import { createApiError } from '../../shared/domain/api-errors.js';
import { apiDeps, appServices } from '../dependencies.js';
import { API_ROUTES, type ApiRoute } from './api-routes.js';
import { type ArmCall, checkApiVersion, errorResponse, publicApiBase, readJsonBody } from './arm-http.js';
import { authenticate, authorize } from './authorize.js';
import { registerOpenApi } from './openapi.js';

function checkRouteApiVersion(route: ApiRoute, query: URLSearchParams): void {
  if (!route.apiVersions) {
    checkApiVersion(query);
    return;
  }
  const version = query.get('api-version');
  const supported = route.apiVersions.join(', ');
  if (!version) throw createApiError('MissingApiVersionParameter', { supported });
  if (!route.apiVersions.includes(version)) {
    throw createApiError('InvalidApiVersionParameter', { apiVersion: version, supported });
  }
}

/** What ARM answers with a 401, so clients know to (re)acquire a token. */
function challenge(response: HttpResponseInit): Record<string, string> {
  if (response.status !== 401) return {};
  return { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="authentication required"' };
}

/** Runs one API route: authenticate → authorize → api-version → translate → handler → ARM response. */
async function runRoute(
  route: ApiRoute,
  request: HttpRequest,
  client: DurableClient,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const requestId = context.invocationId;
  let response: HttpResponseInit;
  try {
    const { auth } = await appServices();
    const principal = await authenticate(request, route.operationId, auth);
    const filter = await authorize(route, request.params, principal, auth);
    const url = new URL(request.url);
    checkRouteApiVersion(route, url.searchParams);
    let body: Promise<unknown> | undefined;
    const deps = await apiDeps(client);
    const call: ArmCall = {
      request,
      params: request.params,
      query: url.searchParams,
      apiBase: publicApiBase(deps.settings, request.url),
      principal,
      deps,
      context,
      auth: { principal, roleAssignments: auth.roleAssignments },
      body: () => {
        body ??= readJsonBody(request);
        return body;
      },
    };
    response = await filter(await route.handler(call));
  } catch (err) {
    response = errorResponse(err, context);
  }
  return {
    ...response,
    headers: { ...(response.headers as Record<string, string>), ...challenge(response), 'x-ms-request-id': requestId },
  };
}

export function registerApiRoutes(): void {
  for (const route of API_ROUTES) {
    df.app.client.http(route.operationId, {
      route: route.route,
      methods: [route.method],
      // Anonymous to the host: ARM clients send only a bearer token. authorize.ts checks every request
      // (bearer token, function key or trusted App Service principal) before anything else runs.
      authLevel: 'anonymous',
      handler: (request, client, context) => runRoute(route, request, client, context),
    });
  }
  registerOpenApi();
}
