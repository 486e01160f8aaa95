import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import azureFunctions from '@azure/functions';
import { authenticate } from '../../../functions/http/authorize.js';
import { createBearerTokenValidator } from '../../../shared/auth/bearer-tokens.js';
import { KeysFileFunctionKeys, NO_FUNCTION_KEYS } from '../../../shared/auth/function-keys.js';
import type { AuthSettings } from '../../../shared/config/settings.js';
import { ApiError } from '../../../shared/domain/api-errors.js';

// The parts of authentication that need no issuer: App Service's header (trusted only when configured) and
// function keys read from the host's keys file. Bearer tokens are exercised against a running issuer in
// test/integration/api/authorization.test.ts.

// A CommonJS module whose HttpRequest export Node's ESM loader does not detect by name.
const { HttpRequest } = azureFunctions;

const auth = (overrides: Partial<AuthSettings> = {}): AuthSettings => ({
  issuers: [],
  audiences: [],
  trustAppServiceAuth: false,
  subscriptionOwners: [],
  functionKeys: { kind: 'none' },
  ...overrides,
});
const request = (headers: Record<string, string>, query = '') =>
  new HttpRequest({ method: 'GET', url: `http://127.0.0.1/api/x${query}`, headers });
const services = (settings: AuthSettings, functionKeys = NO_FUNCTION_KEYS) => ({
  settings: { auth: settings, subscriptionId: '00000000-0000-0000-0000-000000000000' },
  bearer: createBearerTokenValidator(settings),
  functionKeys,
});
const rejectsWith = async (p: Promise<unknown>, status: number, code: string) =>
  assert.rejects(p, (err: unknown) => err instanceof ApiError && err.status === status && err.code === code);

const principalHeader = (oid: string) =>
  Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      claims: [{ typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: oid }],
    }),
  ).toString('base64');

test('x-ms-client-principal is ignored unless BATCHAI_TRUST_APP_SERVICE_AUTH is set, then names the principal', async () => {
  const headers = { 'x-ms-client-principal': principalHeader('1e6f0000-0000-4000-8000-000000000001') };
  await rejectsWith(authenticate(request(headers), 'Workspaces_Get', services(auth())), 401, 'AuthenticationFailed');
  const trusted = services(auth({ trustAppServiceAuth: true }));
  assert.deepEqual(await authenticate(request(headers), 'Workspaces_Get', trusted), {
    id: '1e6f0000-0000-4000-8000-000000000001',
    type: 'User',
  });
  await rejectsWith(
    authenticate(request({ 'x-ms-client-principal': 'not base64 json' }), 'Workspaces_Get', trusted),
    401,
    'AuthenticationFailed',
  );
});

test('bearer tokens are refused when no issuer is configured; a malformed Authorization header is a 401', async () => {
  await rejectsWith(
    authenticate(request({ authorization: 'Bearer a.b.c' }), 'Workspaces_Get', services(auth())),
    401,
    'InvalidAuthenticationToken',
  );
  await rejectsWith(
    authenticate(request({ authorization: 'Bearer' }), 'Workspaces_Get', services(auth())),
    401,
    'InvalidAuthenticationToken',
  );
});

test("function keys from the host's keys file: master, host and the operation's own key; others refused", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'batchai-keys-'));
  try {
    const file = join(dir, 'keys.json');
    await writeFile(
      file,
      JSON.stringify({
        masterKey: 'master-secret',
        functionKeys: { default: 'host-secret' },
        functions: { Jobs_Get: { default: 'jobs-get-secret' } },
        systemKeys: { durabletask_extension: 'system-secret' },
      }),
    );
    const s = services(auth(), new KeysFileFunctionKeys(file));
    const who = (headers: Record<string, string>, fn = 'Jobs_Get', query = '') =>
      authenticate(request(headers, query), fn, s);
    assert.equal((await who({ 'x-functions-key': 'master-secret' })).id, 'function-key/master');
    assert.equal((await who({}, 'Jobs_Get', '?code=host-secret')).id, 'function-key/host/default');
    assert.equal((await who({ 'x-functions-key': 'jobs-get-secret' })).id, 'function-key/function/Jobs_Get/default');
    await rejectsWith(who({ 'x-functions-key': 'jobs-get-secret' }, 'Jobs_Delete'), 401, 'AuthenticationFailed');
    await rejectsWith(who({ 'x-functions-key': 'system-secret' }), 401, 'AuthenticationFailed');
    await rejectsWith(who({ 'x-functions-key': '' }), 401, 'AuthenticationFailed');
    await rejectsWith(who({}), 401, 'AuthenticationFailed');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
