import type { HttpRequest } from '@azure/functions';
import { createApiError } from '../../shared/domain/api-errors.js';

// The one authentication/authorization point of the HTTP API. Every route is registered with
// authLevel 'function', so the Functions host has already checked a function/host key (locally and on
// Azure); this is where identity-based callers (App Service authentication, which puts the signed-in
// principal in x-ms-client-principal) are recognised and where the role model will be enforced.

export type Principal = { kind: 'key' } | { kind: 'user'; identityProvider: string; userId: string; roles: string[] };

interface ClientPrincipal {
  identityProvider?: string;
  userId?: string;
  userRoles?: string[];
}

export function authorize(request: HttpRequest): Principal {
  const encoded = request.headers.get('x-ms-client-principal');
  if (!encoded) return { kind: 'key' };
  let principal: ClientPrincipal;
  try {
    principal = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as ClientPrincipal;
  } catch {
    principal = null as unknown as ClientPrincipal;
  }
  if (principal === null || typeof principal !== 'object' || Array.isArray(principal)) {
    throw createApiError('InvalidRequestContent', {
      reason: 'the x-ms-client-principal header is not base64 of a JSON object',
    });
  }
  return {
    kind: 'user',
    identityProvider: principal.identityProvider ?? 'unknown',
    userId: principal.userId ?? 'unknown',
    roles: principal.userRoles ?? [],
  };
}
