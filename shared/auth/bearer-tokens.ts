import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import type { Principal } from '../domain/access-control.js';

// Entra ID access tokens as ARM clients send them (`Authorization: Bearer …`), validated by the app itself:
// signature against the issuer's published keys (OIDC discovery → jwks_uri, refreshed when an unknown key id
// appears, as Entra rotates keys), issuer, audience, expiry and not-before, RS256 only. The local stack's
// issuer publishes the same documents, so the same code runs locally.

/** Entra ID signs access tokens with RS256; anything else (including `none`) is refused. */
export const ALLOWED_ALGORITHMS = ['RS256'];
/** Clock skew tolerated on exp/nbf, as Microsoft.IdentityModel does by default (5 minutes). */
const CLOCK_TOLERANCE_SECONDS = 300;

export type TokenProblem = 'invalid' | 'expired' | 'audience' | 'issuer' | 'notConfigured';

export class TokenRejectedError extends Error {
  constructor(
    readonly problem: TokenProblem,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRejectedError';
  }
}

export interface BearerTokenValidator {
  /** The principal a valid token names; TokenRejectedError otherwise (never a partial answer). */
  validate(token: string): Promise<Principal>;
}

export interface BearerTokenOptions {
  issuers: readonly string[];
  audiences: readonly string[];
  jwksUri?: string | undefined;
}

async function discoverJwksUri(issuer: string): Promise<URL> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`OIDC discovery at ${url} answered HTTP ${response.status}`);
  const doc = (await response.json()) as { jwks_uri?: unknown };
  if (typeof doc.jwks_uri !== 'string') throw new Error(`OIDC discovery at ${url} has no jwks_uri`);
  return new URL(doc.jwks_uri);
}

function principalOf(payload: JWTPayload): Principal {
  // Entra ID: `oid` is the object id role assignments name; `idtyp: app` marks an application's token.
  const oid = typeof payload['oid'] === 'string' ? payload['oid'] : payload.sub;
  if (!oid) throw new TokenRejectedError('invalid', 'the token names no principal (no oid or sub claim)');
  const name = [payload['name'], payload['preferred_username'], payload['appid'], payload['azp']].find(
    (v): v is string => typeof v === 'string',
  );
  // Entra puts at most 200 group ids in a token (more: an overage claim, not followed here; see docs/auth.md).
  const groups = Array.isArray(payload['groups'])
    ? payload['groups'].filter((g): g is string => typeof g === 'string').slice(0, 200)
    : [];
  return {
    id: oid,
    type: payload['idtyp'] === 'app' ? 'ServicePrincipal' : 'User',
    ...(name ? { displayName: name } : {}),
    ...(groups.length > 0 ? { groupIds: groups } : {}),
  };
}

export function createBearerTokenValidator(options: BearerTokenOptions): BearerTokenValidator {
  let keySet: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const keys = () => {
    keySet ??= (async () =>
      createRemoteJWKSet(options.jwksUri ? new URL(options.jwksUri) : await discoverJwksUri(options.issuers[0]!)))();
    keySet.catch(() => {
      keySet = undefined; // discovery failed (issuer not up yet): try again on the next request
    });
    return keySet;
  };
  return {
    async validate(token) {
      if (options.issuers.length === 0) {
        throw new TokenRejectedError('notConfigured', 'bearer tokens are not accepted: no issuer is configured');
      }
      try {
        const { payload } = await jwtVerify(token, await keys(), {
          issuer: [...options.issuers],
          audience: [...options.audiences],
          algorithms: ALLOWED_ALGORITHMS,
          requiredClaims: ['exp'],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        });
        return principalOf(payload);
      } catch (err) {
        throw toRejection(err);
      }
    },
  };
}

function toRejection(err: unknown): TokenRejectedError {
  if (err instanceof TokenRejectedError) return err;
  if (err instanceof errors.JWTExpired) return new TokenRejectedError('expired', 'the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return new TokenRejectedError('audience', 'the token is not meant for this API');
    if (err.claim === 'iss')
      return new TokenRejectedError('issuer', 'the token comes from an issuer this API does not trust');
    return new TokenRejectedError('invalid', `the token's '${err.claim}' claim is not valid now (${err.reason})`);
  }
  if (err instanceof errors.JOSEError)
    return new TokenRejectedError('invalid', 'the token is malformed or its signature is not valid');
  // Key retrieval failures (the issuer is down) are ours, not the caller's: they surface as a 500 upstream.
  throw err;
}
