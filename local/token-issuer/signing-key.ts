import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

// The local stack's token issuer: one RS256 signing key under the data dir (owner-only), tokens shaped like
// Entra ID v2 access tokens (iss, aud, oid, tid, sub, name, exp, nbf, iat), and the discovery document and
// JWKS the app reads through the same code path as on Azure.

/** A fixed tenant id for the local stack (tokens' `tid`, the issuer path). */
export const LOCAL_TENANT_ID = 'b0a7c000-0000-4000-8000-00000000100c';
/** The audience the app accepts locally, as an App ID URI would be on Azure. */
export const LOCAL_AUDIENCE = 'api://batchai-local';
/** The principal `.local/stack.json`'s token is for: Owner of the local subscription. */
export const DEFAULT_PRINCIPAL_NAME = 'stack-owner';
const DEFAULT_LIFETIME_SECONDS = 24 * 3600;

export interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export const issuerDataDir = (dataDir: string): string => join(dataDir, 'issuer');
const keyFile = (dataDir: string) => join(issuerDataDir(dataDir), 'signing-key.json');

export function issuerUrl(port: number): string {
  return `http://127.0.0.1:${port}/${LOCAL_TENANT_ID}/v2.0`;
}

/** A stable object id for a name (`alice` → the same GUID every time); a GUID is kept as it is. */
export function principalIdOf(nameOrId: string): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(nameOrId)) return nameOrId.toLowerCase();
  const h = createHash('sha256').update(`batchai-local-principal:${nameOrId}`).digest('hex');
  // Shaped as a version-4 GUID so tools that check the form accept it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Loads the stack's signing key, creating it (mode 0600) on first use. */
export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const file = keyFile(dataDir);
  try {
    const privateJwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
    return withPublic(privateJwk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const privateJwk = await exportJWK(privateKey);
  await mkdir(issuerDataDir(dataDir), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  await chmod(file, 0o600);
  return withPublic(JSON.parse(await readFile(file, 'utf8')) as JWK);
}

async function withPublic(privateJwk: JWK): Promise<SigningKey> {
  const { kty, n, e } = privateJwk;
  const publicJwk: JWK = { kty, n, e };
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateJwk, publicJwk: { ...publicJwk, kid, use: 'sig', alg: 'RS256' } };
}

export interface MintOptions {
  issuer: string;
  audience?: string;
  /** A name (`alice`) or an object id. */
  principal: string;
  /** `app` makes a service principal's token (Entra's idtyp), as Logic Apps' managed identity sends. */
  kind?: 'user' | 'app';
  lifetimeSeconds?: number;
  /** Group object ids (Entra's `groups` claim). */
  groups?: readonly string[];
}

export async function mintToken(key: SigningKey, options: MintOptions): Promise<string> {
  const oid = principalIdOf(options.principal);
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    oid,
    tid: LOCAL_TENANT_ID,
    name: options.principal,
    ver: '2.0',
  };
  if (options.groups && options.groups.length > 0) claims.groups = [...options.groups];
  if (options.kind === 'app') claims.idtyp = 'app';
  else claims.preferred_username = `${options.principal}@batchai.local`;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience ?? LOCAL_AUDIENCE)
    .setSubject(oid)
    .setIssuedAt(now)
    .setNotBefore(now - 60)
    .setExpirationTime(now + (options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS))
    .sign(await importJWK(key.privateJwk, 'RS256'));
}

/** The OIDC discovery document (the subset token validators read). */
export function discoveryDocument(issuer: string): Record<string, unknown> {
  const base = issuer.replace(/\/v2\.0$/, '');
  return {
    issuer,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    token_endpoint: `${base}/oauth2/v2.0/token`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'token'],
    subject_types_supported: ['pairwise'],
    tenant_region_scope: 'local',
  };
}
