import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { loadSettings } from '../../shared/config/settings.js';
import { toJsonSchemas } from '../../shared/domain/json-schemas.js';
import { API_ROUTES, type ApiRoute } from './api-routes.js';
import { API_VERSION, publicApiBase } from './arm-http.js';

// The OpenAPI 2.0 document for Logic Apps' "HTTP + Swagger" action and for client generators: built from the
// routes table and from the same zod schemas that validate request bodies, so it cannot drift from the API.

export const OPENAPI_ROUTE = 'openapi.json';

// Logic Apps' designer fetches the document from the browser, so it needs CORS.
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, OPTIONS',
  'Access-Control-Allow-Headers': 'content-type, x-functions-key',
};

const resourceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', readOnly: true },
    name: { type: 'string', readOnly: true },
    type: { type: 'string', readOnly: true },
    location: { type: 'string' },
    tags: { type: 'object', additionalProperties: { type: 'string' } },
    properties: { type: 'object' },
  },
};

function parametersOf(route: ApiRoute): unknown[] {
  const path = [...route.route.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    type: 'string',
    ...(name !== 'subscriptionId' && name !== 'location' && name !== 'operationId' && name !== 'resourceGroupName'
      ? { pattern: '^[-\\w_]+$', minLength: 1, maxLength: 64 }
      : {}),
  }));
  const body = route.body
    ? [
        {
          name: 'parameters',
          in: 'body',
          required: route.method === 'PUT',
          schema: { $ref: `#/definitions/${route.body}` },
        },
      ]
    : [];
  return [...path, { name: 'api-version', in: 'query', required: true, type: 'string', enum: [API_VERSION] }, ...body];
}

function responsesOf(route: ApiRoute): Record<string, unknown> {
  const ok =
    route.returns === 'list'
      ? { description: 'OK', schema: { $ref: '#/definitions/ListResult' } }
      : route.returns === 'none'
        ? { description: 'OK' }
        : { description: 'OK', schema: { $ref: '#/definitions/Resource' } };
  return {
    '200': ok,
    ...(route.longRunning
      ? { '202': { description: 'Accepted: poll the Location header until it answers 200.' } }
      : {}),
    ...(route.method === 'DELETE' ? { '204': { description: 'No content: there was nothing to delete.' } } : {}),
    default: { description: 'Error response', schema: { $ref: '#/definitions/CloudError' } },
  };
}

export function buildOpenApiDocument(origin: URL): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_ROUTES) {
    const path = `/${route.route}`;
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      operationId: route.operationId,
      description: route.description,
      produces: ['application/json'],
      ...(route.body ? { consumes: ['application/json'] } : {}),
      parameters: parametersOf(route),
      responses: responsesOf(route),
      ...(route.longRunning ? { 'x-ms-long-running-operation': true } : {}),
      ...(route.returns === 'list' ? { 'x-ms-pageable': { nextLinkName: 'nextLink' } } : {}),
    };
  }
  return {
    swagger: '2.0',
    info: {
      title: 'BatchAI',
      version: API_VERSION,
      description: 'The Batch AI 2018-05-01 API, served by the serverless Batch AI.',
    },
    host: origin.host,
    basePath: origin.pathname.replace(/\/+$/, '') || '/',
    schemes: [origin.protocol.replace(':', '')],
    // Either works (docs/auth.md): an Entra ID (or local issuer) bearer token, or a function key.
    securityDefinitions: {
      bearer: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Bearer <access token>' },
      functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
    },
    security: [{ bearer: [] }, { functionKey: [] }],
    paths,
    definitions: {
      ...toJsonSchemas(),
      Resource: resourceSchema,
      ListResult: {
        type: 'object',
        properties: { value: { type: 'array', items: { type: 'object' } }, nextLink: { type: 'string' } },
      },
      CloudError: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            properties: {
              code: { type: 'string' },
              message: { type: 'string' },
              target: { type: 'string' },
              details: { type: 'array', items: { type: 'object' } },
            },
          },
        },
      },
    },
  };
}

export function registerOpenApi(): void {
  app.http('OpenApi_Get', {
    route: OPENAPI_ROUTE,
    methods: ['GET'],
    authLevel: 'function',
    handler: async (request: HttpRequest): Promise<HttpResponseInit> => ({
      status: 200,
      // host and basePath come from the public base URL, never the request's Host header.
      jsonBody: buildOpenApiDocument(new URL(publicApiBase(loadSettings(), request.url))),
      headers: { ...CORS, 'content-type': 'application/json; charset=utf-8' },
    }),
  });
  // A CORS preflight carries no key; it returns headers only, no data.
  app.http('OpenApi_Preflight', {
    route: OPENAPI_ROUTE,
    methods: ['OPTIONS'],
    authLevel: 'anonymous',
    handler: async (): Promise<HttpResponseInit> => ({
      status: 204,
      headers: { ...CORS, 'Access-Control-Max-Age': '3600' },
    }),
  });
}
