import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import * as df from 'durable-functions';
import { apiDeps } from '../dependencies.js';
import { API_ROUTES, type ApiRoute } from './api-routes.js';
import { type ArmCall, checkApiVersion, errorResponse, publicApiBase, readJsonBody } from './arm-http.js';
import { authorize } from './authorize.js';
import { registerOpenApi } from './openapi.js';

/** Runs one API route: authorize → api-version → translate → handler → ARM response (errors included). */
async function runRoute(
  route: ApiRoute,
  request: HttpRequest,
  client: DurableClient,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const requestId = context.invocationId;
  let response: HttpResponseInit;
  try {
    const principal = authorize(request);
    const url = new URL(request.url);
    checkApiVersion(url.searchParams);
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
      body: () => {
        body ??= readJsonBody(request);
        return body;
      },
    };
    response = await route.handler(call);
  } catch (err) {
    response = errorResponse(err, context);
  }
  return {
    ...response,
    headers: { ...(response.headers as Record<string, string>), 'x-ms-request-id': requestId },
  };
}

export function registerApiRoutes(): void {
  for (const route of API_ROUTES) {
    df.app.client.http(route.operationId, {
      route: route.route,
      methods: [route.method],
      authLevel: 'function',
      handler: (request, client, context) => runRoute(route, request, client, context),
    });
  }
  registerOpenApi();
}
