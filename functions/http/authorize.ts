import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { BearerTokenValidator } from '../../shared/auth/bearer-tokens.js';
import { TokenRejectedError } from '../../shared/auth/bearer-tokens.js';
import type { FunctionKeySource } from '../../shared/auth/function-keys.js';
import type { AuthSettings } from '../../shared/config/settings.js';
import {
  type AccessDecision,
  type AccessRequest,
  actionOf,
  decideAccess,
  hasAnyAssignmentAround,
  OWNER_ROLE_ID,
  type Principal,
  type RoleAssignment,
  readActionOfId,
  roleDefinitionIdOf,
} from '../../shared/domain/access-control.js';
import { createApiError } from '../../shared/domain/api-errors.js';
import { parseBatchAiResourceIdOf } from '../../shared/domain/resource-id.js';
import type { OperationStore, ResourceStore } from '../../shared/stores/resource-store.js';
import type { RoleAssignmentStore } from '../../shared/stores/role-assignment-store.js';

// The one authentication and authorization point of the HTTP API (docs/auth.md). API routes are anonymous to
// the Functions host so that ARM clients with only a bearer token reach the app; every request is then
// authenticated here — an Entra ID (or local issuer) bearer token, a function key, or, only when the app is
// configured to sit behind it, App Service Authentication's x-ms-client-principal — and authorized against
// the principal's role assignments at the path it addresses, before any handler runs. Listings are filtered
// to what the caller may read.

export type { Principal } from '../../shared/domain/access-control.js';

export interface AuthServices {
  settings: { auth: AuthSettings; subscriptionId: string };
  bearer: BearerTokenValidator;
  functionKeys: FunctionKeySource;
  roleAssignments: RoleAssignmentStore;
  store: Pick<ResourceStore, 'get'>;
  operations: Pick<OperationStore, 'get'>;
}

/** How a route is authorized: by its ARM action at its path (default), or by the operation it polls. */
export type RouteAccess = 'path' | 'operation' | 'anyPrincipal';

export interface AuthorizedRoute {
  operationId: string;
  method: string;
  route: string;
  returns?: string;
  access?: RouteAccess;
}

export interface CallAuth {
  principal: Principal;
  roleAssignments: RoleAssignmentStore;
}

function headerKey(request: HttpRequest): string | undefined {
  return request.headers.get('x-functions-key') ?? new URL(request.url).searchParams.get('code') ?? undefined;
}

function rejection(err: TokenRejectedError, audiences: readonly string[]) {
  switch (err.problem) {
    case 'expired':
      return createApiError('ExpiredAuthenticationToken', {});
    case 'audience':
      return createApiError('InvalidAuthenticationTokenAudience', { audiences: audiences.join("', '") });
    default:
      return createApiError('InvalidAuthenticationToken', { reason: err.message });
  }
}

/** App Service Authentication's header: `{ claims: [{ typ, val }] }` (or Static Web Apps' `{ userId }`). */
function appServicePrincipal(request: HttpRequest): Principal | undefined {
  const id = request.headers.get('x-ms-client-principal-id');
  const encoded = request.headers.get('x-ms-client-principal');
  if (!encoded && !id) return undefined;
  let parsed: { claims?: { typ?: string; val?: string }[]; userId?: string } = {};
  if (encoded) {
    try {
      parsed = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as typeof parsed;
    } catch {
      throw createApiError('AuthenticationFailed', { reason: 'the x-ms-client-principal header is not base64 JSON' });
    }
  }
  const claim = (typ: string) => parsed.claims?.find((c) => c.typ === typ)?.val;
  const oid = id ?? claim('http://schemas.microsoft.com/identity/claims/objectidentifier') ?? claim('oid');
  const principalId = oid ?? parsed.userId;
  if (!principalId) throw createApiError('AuthenticationFailed', { reason: 'the client principal has no object id' });
  return { id: principalId, type: 'User' };
}

/** Who is calling: 401 (as an ApiError) unless the request proves an identity. */
export async function authenticate(
  request: HttpRequest,
  functionName: string,
  services: Pick<AuthServices, 'settings' | 'bearer' | 'functionKeys'>,
): Promise<Principal> {
  const authorization = request.headers.get('authorization');
  if (authorization) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m)
      throw createApiError('InvalidAuthenticationToken', {
        reason: "the Authorization header must be 'Bearer <token>'",
      });
    try {
      return await services.bearer.validate(m[1]!);
    } catch (err) {
      if (err instanceof TokenRejectedError) throw rejection(err, services.settings.auth.audiences);
      throw err;
    }
  }
  const key = headerKey(request);
  if (key !== undefined) {
    const match = await services.functionKeys.match(functionName, key);
    if (!match) throw createApiError('AuthenticationFailed', { reason: 'the function key is not valid' });
    return { id: `function-key/${match.keyName}`, type: 'FunctionKey' };
  }
  if (services.settings.auth.trustAppServiceAuth) {
    const principal = appServicePrincipal(request);
    if (principal) return principal;
  }
  throw createApiError('AuthenticationFailed', {
    reason: "the request has no 'Authorization: Bearer <token>' header and no function key",
  });
}

/**
 * Assignments no one stored: a function key is Owner of everything this deployment serves (keys are the
 * deployment's own credentials; Logic Apps and scripts keep working), and BATCHAI_OWNER_PRINCIPAL_IDS are
 * Owners of the deployment's subscription (someone must be able to grant the first role).
 */
export function implicitAssignments(principal: Principal, settings: AuthServices['settings']): RoleAssignment[] {
  const sub = settings.subscriptionId;
  if (principal.type === 'FunctionKey') {
    return [
      {
        name: 'function-key',
        scope: '/',
        roleDefinitionId: roleDefinitionIdOf(sub, OWNER_ROLE_ID),
        principalId: principal.id,
      },
    ];
  }
  if (settings.auth.subscriptionOwners.some((o) => o.toLowerCase() === principal.id.toLowerCase())) {
    return [
      {
        name: 'deployment-owner',
        scope: `/subscriptions/${sub}`,
        roleDefinitionId: roleDefinitionIdOf(sub, OWNER_ROLE_ID),
        principalId: principal.id,
      },
    ];
  }
  return [];
}

/** Everything a principal holds (read fresh on each request, so a revoked assignment applies at once). */
export async function assignmentsOf(principal: Principal, services: AuthServices): Promise<RoleAssignment[]> {
  const implicit = implicitAssignments(principal, services.settings);
  if (principal.type === 'FunctionKey') return implicit;
  // Assignments store object ids (GUIDs) in lower case; a token or header may spell them in upper case.
  const ids = [principal.id, ...(principal.groupIds ?? [])].map((id) =>
    /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(id) ? id.toLowerCase() : id,
  );
  const held = await Promise.all(ids.map((id) => services.roleAssignments.listForPrincipal(id)));
  return [...implicit, ...held.flat()];
}

/** The route's path with its parameters filled in: the scope the request addresses. */
export function targetOf(route: string, params: Record<string, string>): string {
  const filled = route.replace(/\{(\w+)\}/g, (_w, name: string) => {
    const value = params[name] ?? '';
    // A name that is empty or could move up or across the path would make the scope mean something else.
    if (value === '' || value === '.' || value === '..' || /[/\\?#]/.test(value)) {
      throw createApiError('InvalidResourceId', {
        target: 'path',
        expected: `a valid ${name}`,
        reason: 'the name is invalid',
      });
    }
    return value;
  });
  return `/${filled}`;
}

async function jobFacts(
  services: AuthServices,
  target: string,
): Promise<{ exists: boolean; createdBy?: string | undefined } | undefined> {
  const jobPath = /^(.*\/experiments\/[^/]+\/jobs\/[^/]+)(\/[^/]+)?$/i.exec(target)?.[1];
  if (!jobPath) return undefined;
  const id = parseBatchAiResourceIdOf('job', jobPath);
  if (!id.ok) return undefined;
  const stored = await services.store.get(id.value);
  return { exists: stored !== undefined, createdBy: stored?.createdBy };
}

function denied(principal: Principal, request: AccessRequest, decision: AccessDecision) {
  const hint =
    !decision.allowed && decision.reason === 'notOwnJob' ? ' A Job submitter acts only on the jobs it submitted.' : '';
  return createApiError('AuthorizationFailed', {
    principalId: principal.id,
    action: request.action,
    scope: request.target,
    hint,
  });
}

/**
 * Checks one request. Returns a filter for the response: listings keep only what the caller may read (and, for
 * a Job submitter, only its own jobs). Throws 403 AuthorizationFailed otherwise.
 */
export async function authorize(
  route: AuthorizedRoute,
  params: Record<string, string>,
  principal: Principal,
  services: AuthServices,
): Promise<(response: HttpResponseInit) => Promise<HttpResponseInit>> {
  const keep = async (r: HttpResponseInit) => r;
  if (route.access === 'anyPrincipal') return keep;
  const assignments = await assignmentsOf(principal, services);
  let request: AccessRequest = { action: actionOf(route.method, route.route), target: targetOf(route.route, params) };
  if (route.access === 'operation') {
    const operation = await services.operations.get(params.operationId ?? '');
    // An unknown operation is a 404 for anyone who may read something in the subscription; a 403 otherwise.
    const subscription = `/subscriptions/${params.subscriptionId}`;
    if (!operation) {
      if (hasAnyAssignmentAround(principal, assignments, subscription)) return keep;
      throw denied(principal, request, { allowed: false, reason: 'noAssignment' });
    }
    // Reading an operation needs read access to the resource it acts on (any role that can see it).
    request = { action: readActionOfId(operation.resourceId), target: operation.resourceId };
  }

  let decision = decideAccess(principal, assignments, request);
  if (decision.allowed && decision.ownJobsOnly) {
    const job = await jobFacts(services, request.target);
    if (job) {
      request = { ...request, job };
      decision = decideAccess(principal, assignments, request);
    }
  }
  const isListing = route.method === 'GET' && route.returns === 'list';
  if (decision.allowed && !decision.ownJobsOnly) return keep;
  // Nothing at or above a listing, but something below it (a Reader of one workspace listing the
  // subscription's workspaces): the listing is allowed and shows only what those assignments reach.
  const below =
    isListing &&
    !decision.allowed &&
    decision.reason === 'noAssignment' &&
    hasAnyAssignmentAround(principal, assignments, listScopeOf(request.target));
  if (!decision.allowed && !below) throw denied(principal, request, decision);
  if (!isListing) return keep;
  return (response) => filterListing(response, principal, assignments, services);
}

/** `…/providers/Microsoft.BatchAI/workspaces` lists what is under `…`; other listings list under their own path. */
function listScopeOf(target: string): string {
  const m = /^(.*?)\/providers\/[^/]+\/[^/]+$/i.exec(target);
  return m ? m[1] || '/' : target;
}

async function filterListing(
  response: HttpResponseInit,
  principal: Principal,
  assignments: RoleAssignment[],
  services: AuthServices,
): Promise<HttpResponseInit> {
  const body = response.jsonBody as { value?: unknown[] } | undefined;
  if (!body || !Array.isArray(body.value)) return response;
  const value: unknown[] = [];
  for (const item of body.value) {
    const id = (item as { id?: unknown }).id;
    if (typeof id !== 'string') continue;
    const request: AccessRequest = { action: readActionOfId(id), target: id };
    let decision = decideAccess(principal, assignments, request);
    if (decision.allowed && decision.ownJobsOnly) {
      const job = await jobFacts(services, id);
      decision = decideAccess(principal, assignments, { ...request, ...(job ? { job } : {}) });
      if (decision.allowed && !job?.exists) continue;
    }
    if (decision.allowed) value.push(item);
  }
  return { ...response, jsonBody: { ...body, value } };
}

/** Who blob and queue submissions act as (BATCHAI_SUBMISSION_PRINCIPAL_ID, else the function-key principal). */
export function submissionPrincipal(settings: AuthServices['settings']): Principal {
  const id = settings.auth.submissionPrincipalId;
  return id ? { id, type: 'SubmissionChannel' } : { id: 'function-key/submission-channel', type: 'FunctionKey' };
}

/** The same check as a PUT of the job, for submissions that arrive by blob or queue. 403 as an ApiError. */
export async function authorizeSubmission(jobResourceId: string, services: AuthServices): Promise<Principal> {
  const principal = submissionPrincipal(services.settings);
  const assignments = await assignmentsOf(principal, services);
  const request: AccessRequest = {
    action: 'Microsoft.BatchAI/workspaces/experiments/jobs/write',
    target: jobResourceId,
  };
  let decision = decideAccess(principal, assignments, request);
  if (decision.allowed && decision.ownJobsOnly) {
    const job = await jobFacts(services, jobResourceId);
    decision = decideAccess(principal, assignments, { ...request, ...(job ? { job } : {}) });
  }
  if (!decision.allowed) throw denied(principal, request, decision);
  return principal;
}
