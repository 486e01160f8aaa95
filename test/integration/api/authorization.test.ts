import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { API_ROUTES, type ApiRoute } from '../../../functions/http/api-routes.js';
import {
  LOCAL_AUDIENCE,
  loadOrCreateSigningKey,
  mintToken,
  principalIdOf,
  type SigningKey,
} from '../../../local/token-issuer/signing-key.js';
import { DOWNLOAD_ROUTE } from '../../../shared/outputs/download-links.js';
import { BatchAiApi } from '../../support/api-client.js';
import { blobClient, cosmosClient, queueClient, startTestStack, type TestStack } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';

// Who may call and what they may do, against a running stack: token tampering, the role × operation matrix
// (every route of the table, every role, at each scope), list filtering, Job submitter's own-jobs-only and the
// roleAssignments surface itself. Expectations come from Azure's role semantics written out here, not from the
// code under test.

let stack: TestStack;
let api: BatchAiApi;
let key: SigningKey;
let issuer: string;
let ownerToken: string;

const ROLE_GUIDS = {
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  JobSubmitter: '5b1c2a1e-7d6f-4c1b-9a44-b47c0000a1b0',
} as const;
type Role = keyof typeof ROLE_GUIDS;

before(async () => {
  stack = await startTestStack();
  api = new BatchAiApi(stack.descriptor);
  assert.ok(stack.descriptor.auth, 'the descriptor carries the issuer and a token');
  issuer = stack.descriptor.auth.issuer;
  ownerToken = stack.descriptor.auth.token;
  key = await loadOrCreateSigningKey(stack.dataDir);
});

after(async () => {
  await stack?.dispose();
});

const tokenFor = (principal: string) => mintToken(key, { issuer, principal });

async function grant(principal: string, role: Role, scope: string): Promise<string> {
  const name = randomUUID();
  const res = await api.call('PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, {
    apiVersion: '2022-04-01',
    bearer: ownerToken,
    body: {
      properties: {
        roleDefinitionId: `/subscriptions/${api.sub}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_GUIDS[role]}`,
        principalId: principalIdOf(principal),
      },
    },
  });
  assert.equal(res.status, 201, res.text);
  return name;
}

test('the stack descriptor token is a working Owner token; a function key still works', async () => {
  const ws = await api.call('PUT', api.workspacePath('owner-ws'), { bearer: ownerToken, body: { location: 'local' } });
  assert.equal(ws.status, 200, ws.text);
  const viaKey = await api.call('GET', api.workspacePath('owner-ws'));
  assert.equal(viaKey.status, 200, viaKey.text);
});

test('token tampering: every forged, stale or misdirected token is refused with 401', async () => {
  const path = api.workspacePath('owner-ws');
  const good = await tokenFor('tamper-test');
  const [header, payload, signature] = good.split('.') as [string, string, string];
  const now = Math.floor(Date.now() / 1000);
  const otherKey = await generateKeyPair('RS256', { extractable: true });
  const signWith = (claims: Record<string, unknown>, signingKey = key) =>
    import('jose').then(async ({ importJWK }) =>
      new SignJWT({ oid: principalIdOf('tamper-test'), ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: signingKey.kid })
        .sign(await importJWK(signingKey.privateJwk, 'RS256')),
    );
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
  const cases: Record<string, { token: string; code: string }> = {
    'bad signature': { token: `${header}.${payload}.${flipped}`, code: 'InvalidAuthenticationToken' },
    'payload changed after signing': {
      token: `${header}.${b64({ ...decoded, oid: principalIdOf('stack-owner') })}.${signature}`,
      code: 'InvalidAuthenticationToken',
    },
    'signed by another key under our kid': {
      token: await new SignJWT({ oid: principalIdOf('stack-owner') })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid })
        .setIssuer(issuer)
        .setAudience(LOCAL_AUDIENCE)
        .setExpirationTime(now + 600)
        .sign(otherKey.privateKey),
      code: 'InvalidAuthenticationToken',
    },
    'wrong audience': {
      token: await signWith({ iss: issuer, aud: 'https://management.azure.com/', exp: now + 600 }),
      code: 'InvalidAuthenticationTokenAudience',
    },
    'wrong issuer': {
      token: await signWith({
        iss: 'https://login.microsoftonline.com/evil/v2.0',
        aud: LOCAL_AUDIENCE,
        exp: now + 600,
      }),
      code: 'InvalidAuthenticationToken',
    },
    expired: {
      token: await signWith({ iss: issuer, aud: LOCAL_AUDIENCE, exp: now - 3600 }),
      code: 'ExpiredAuthenticationToken',
    },
    'not yet valid (nbf)': {
      token: await signWith({ iss: issuer, aud: LOCAL_AUDIENCE, nbf: now + 3600, exp: now + 7200 }),
      code: 'InvalidAuthenticationToken',
    },
    'no expiry': { token: await signWith({ iss: issuer, aud: LOCAL_AUDIENCE }), code: 'InvalidAuthenticationToken' },
    'alg none': {
      token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...decoded, oid: principalIdOf('stack-owner') })}.`,
      code: 'InvalidAuthenticationToken',
    },
    'HS256 with the public key as secret': {
      token: await new SignJWT({ oid: principalIdOf('stack-owner') })
        .setProtectedHeader({ alg: 'HS256', kid: key.kid })
        .setIssuer(issuer)
        .setAudience(LOCAL_AUDIENCE)
        .setExpirationTime(now + 600)
        .sign(Buffer.from(JSON.stringify(await exportJWK((await generateKeyPair('RS256')).publicKey)))),
      code: 'InvalidAuthenticationToken',
    },
    'not a JWT': { token: 'abc.def', code: 'InvalidAuthenticationToken' },
  };
  // The untampered token itself is fine (proves the cases fail for their tampering, not for another reason):
  // its principal has no role, so it gets past authentication to a 403.
  const control = await api.call('GET', path, { bearer: good });
  assert.equal(control.status, 403, control.text);
  for (const [name, { token, code }] of Object.entries(cases)) {
    const res = await api.call('GET', path, { bearer: token });
    assert.equal(res.status, 401, `${name}: ${res.status} ${res.text}`);
    assert.equal((res.body as { error: { code: string } }).error.code, code, name);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /, name);
  }
  const none = await api.call('GET', path, { key: null });
  assert.equal(none.status, 401, none.text);
  assert.equal((none.body as { error: { code: string } }).error.code, 'AuthenticationFailed');
  const wrongKey = await api.call('GET', path, { key: 'not-a-key' });
  assert.equal(wrongKey.status, 401, wrongKey.text);
  const basic = await api.call('GET', path, { key: null, headers: { authorization: 'Basic YTpi' } });
  assert.equal(basic.status, 401, basic.text);
  // App Service's header is not trusted unless the app is configured to sit behind App Service auth.
  const spoofed = Buffer.from(JSON.stringify({ userId: principalIdOf('stack-owner') })).toString('base64');
  const client = await api.call('GET', path, {
    key: null,
    headers: { 'x-ms-client-principal': spoofed, 'x-ms-client-principal-id': principalIdOf('stack-owner') },
  });
  assert.equal(client.status, 401, client.text);
});

test('no anonymous way in: every API route answers 401 without credentials; other HTTP functions are host-keyed', async () => {
  for (const route of API_ROUTES) {
    const res = await api.call(route.method, pathOf(route), {
      key: null,
      ...(route.operationId.startsWith('RoleAssignments_') ? { apiVersion: '2022-04-01' } : {}),
    });
    assert.equal(res.status, 401, `${route.operationId}: ${res.status} ${res.text}`);
  }
  // What the host itself lets through without a key: only the API routes above (which authenticate in the app)
  // the OpenAPI document's CORS preflight (headers only), and output downloads, whose signed link is the grant
  // (one file, until it expires, like a SAS): without a valid signature it hands out nothing.
  const functions = (await (
    await fetch(`${api.base.replace(/\/api$/, '')}/admin/functions`, { headers: { 'x-functions-key': api.key } })
  ).json()) as { name: string; config: { bindings: { type: string; authLevel?: string }[] } }[];
  const apiNames = new Set(API_ROUTES.map((r) => r.operationId));
  const anonymous = functions
    .filter((f) =>
      f.config.bindings.some((b) => b.type === 'httpTrigger' && String(b.authLevel).toLowerCase() === 'anonymous'),
    )
    .map((f) => f.name)
    .filter((name) => !apiNames.has(name));
  assert.deepEqual(anonymous.sort(), ['DownloadOutputFile', 'OpenApi_Preflight']);
  const unsigned = await fetch(`${api.base}/${DOWNLOAD_ROUTE}`);
  assert.ok([400, 403, 404].includes(unsigned.status), `an unsigned download: ${unsigned.status}`);
  const forged = await fetch(`${api.base}/${DOWNLOAD_ROUTE}?p=azurefiles/x/y/z.txt&se=9999999999999&sig=AAAA`);
  assert.ok([403, 404].includes(forged.status), `a forged download: ${forged.status}`);
});

// --- The matrix -----------------------------------------------------------------------------------------

const M = { rg: 'matrix-rg', ws: 'matrix-ws' };
type Level = 'subscription' | 'resourceGroup' | 'workspace';
const DEPTH: Record<Level, number> = { subscription: 1, resourceGroup: 2, workspace: 3 };

function scopeAt(level: Level): string {
  const sub = `/subscriptions/${api.sub}`;
  if (level === 'subscription') return sub;
  if (level === 'resourceGroup') return `${sub}/resourceGroups/${M.rg}`;
  return `${sub}/resourceGroups/${M.rg}/providers/Microsoft.BatchAI/workspaces/${M.ws}`;
}

/** How deep the path a route addresses is: tenant 0, subscription 1, resource group 2, workspace and below 3. */
function routeDepth(route: ApiRoute): number {
  if (route.route.includes('{workspaceName}')) return 3;
  if (route.route.includes('{resourceGroupName}')) return 2;
  if (route.route.startsWith('subscriptions/')) return 1;
  return 0;
}

/** A collection listed directly under a scope (`{scope}/providers/{ns}/{type}`): below-scope grants see a filtered list. */
const isScopeCollection = (route: ApiRoute) =>
  route.method === 'GET' && route.returns === 'list' && /\/providers\/[^/{}]+\/[^/{}]+$/.test(route.route);

const JOB_SUBMITTER_OPERATIONS = new Set([
  'Jobs_Create',
  'Jobs_Get',
  'Jobs_ListByExperiment',
  'Jobs_ListOutputFiles',
  'Jobs_ListRemoteLoginInformation',
  'Jobs_Terminate',
]);

function rolePermits(role: Role, route: ApiRoute): boolean {
  const isRoleAssignmentChange = route.operationId.startsWith('RoleAssignments_') && route.method !== 'GET';
  switch (role) {
    case 'Owner':
      return true;
    case 'Contributor':
      return !isRoleAssignmentChange;
    case 'Reader':
      return route.method === 'GET';
    case 'JobSubmitter':
      return JOB_SUBMITTER_OPERATIONS.has(route.operationId);
  }
}

function expectedAllowed(role: Role | 'none', level: Level, route: ApiRoute): boolean {
  if (route.operationId === 'Operations_List') return true;
  if (role === 'none') return false;
  // Polling an unknown operation: a 404 for anyone holding a role in the subscription.
  if (route.access === 'operation') return true;
  if (routeDepth(route) < DEPTH[level]) return isScopeCollection(route);
  return rolePermits(role, route);
}

const PARAMS: Record<string, string> = {
  resourceGroupName: M.rg,
  workspaceName: M.ws,
  experimentName: 'e',
  jobName: 'j',
  clusterName: 'c',
  fileServerName: 'f',
  location: 'local',
};

function pathOf(route: ApiRoute): string {
  const params: Record<string, string> = {
    ...PARAMS,
    subscriptionId: api.sub,
    operationId: randomUUID(),
    roleAssignmentName: randomUUID(),
  };
  return `/${route.route.replace(/\{(\w+)\}/g, (_w, n: string) => params[n]!)}`;
}

test('role × operation matrix: every route, every role, at subscription, resource group and workspace scope', async () => {
  const apiVersionOf = (route: ApiRoute) =>
    route.operationId.startsWith('RoleAssignments_') ? '2022-04-01' : undefined;
  const failures: string[] = [];
  let checked = 0;
  const probe = async (label: string, token: string, expected: boolean, route: ApiRoute) => {
    // No body: an allowed write then fails validation (or finds nothing), so the matrix changes nothing.
    const res = await api.call(route.method, pathOf(route), {
      bearer: token,
      ...(apiVersionOf(route) ? { apiVersion: apiVersionOf(route)! } : {}),
    });
    checked++;
    const allowed = res.status !== 403;
    if (res.status === 401 || res.status >= 500 || allowed !== expected) {
      failures.push(
        `${label} ${route.operationId}: expected ${expected ? 'allowed' : '403'}, got ${res.status} ${res.text.slice(0, 200)}`,
      );
    }
  };
  const nobody = await tokenFor('matrix-nobody');
  for (const route of API_ROUTES) await probe('no role', nobody, expectedAllowed('none', 'workspace', route), route);
  for (const role of Object.keys(ROLE_GUIDS) as Role[]) {
    for (const level of ['subscription', 'resourceGroup', 'workspace'] as Level[]) {
      const principal = `matrix-${role}-${level}`;
      await grant(principal, role, scopeAt(level));
      const token = await tokenFor(principal);
      for (const route of API_ROUTES) {
        await probe(`${role}@${level}`, token, expectedAllowed(role, level, route), route);
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.equal(checked, API_ROUTES.length * 13);
  // Nothing was created by the allowed writes.
  const list = await api.call<{ value: { id: string }[] }>(
    'GET',
    `/subscriptions/${api.sub}/resourceGroups/${M.rg}/providers/Microsoft.BatchAI/workspaces`,
  );
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.value, []);
});

test('list filtering: a Reader of workspace A listing workspaces sees only A', async () => {
  for (const ws of ['filter-a', 'filter-b']) {
    const res = await api.call('PUT', api.workspacePath(ws), { bearer: ownerToken, body: { location: 'local' } });
    assert.equal(res.status, 200, res.text);
  }
  await grant('reader-of-a', 'Reader', api.workspacePath('filter-a'));
  const token = await tokenFor('reader-of-a');
  const ids = async (path: string) => {
    const res = await api.call<{ value: { id: string }[] }>('GET', path, { bearer: token });
    assert.equal(res.status, 200, res.text);
    return res.body.value.map((w) => w.id.split('/').pop());
  };
  assert.deepEqual(await ids(`/subscriptions/${api.sub}/providers/Microsoft.BatchAI/workspaces`), ['filter-a']);
  assert.deepEqual(
    await ids(`/subscriptions/${api.sub}/resourceGroups/${api.rg}/providers/Microsoft.BatchAI/workspaces`),
    ['filter-a'],
  );
  // The Owner sees both (the filter is the caller's, not a global one).
  const all = await api.call<{ value: { id: string }[] }>(
    'GET',
    `/subscriptions/${api.sub}/providers/Microsoft.BatchAI/workspaces`,
    {
      bearer: ownerToken,
    },
  );
  const names = all.body.value.map((w) => w.id.split('/').pop());
  assert.ok(names.includes('filter-a') && names.includes('filter-b'), names.join(','));
  const denied = await api.call('GET', api.workspacePath('filter-b'), { bearer: token });
  assert.equal(denied.status, 403, denied.text);
  assert.equal((denied.body as { error: { code: string } }).error.code, 'AuthorizationFailed');
});

test('Job submitter: creates, reads and terminates its own jobs only', async () => {
  const ws = 'submit-ws';
  const clusterId = await api.seedWorkspace(ws);
  await grant('submitter', 'JobSubmitter', api.workspacePath(ws));
  const mine = await tokenFor('submitter');
  const job = (n: number) => ({
    properties: {
      cluster: { id: clusterId },
      nodeCount: 1,
      customToolkitSettings: { commandLine: `echo ${n}` },
      stdOutErrPathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/out',
    },
  });
  const own = await api.call('PUT', api.jobPath(ws, 'exp', 'own'), { bearer: mine, body: job(1) });
  assert.equal(own.status, 202, own.text);
  const others = await api.call('PUT', api.jobPath(ws, 'exp', 'others'), { bearer: ownerToken, body: job(2) });
  assert.equal(others.status, 202, others.text);

  assert.equal((await api.call('GET', api.jobPath(ws, 'exp', 'own'), { bearer: mine })).status, 200);
  const read = await api.call('GET', api.jobPath(ws, 'exp', 'others'), { bearer: mine });
  assert.equal(read.status, 403, read.text);
  assert.match((read.body as { error: { message: string } }).error.message, /jobs it submitted/);
  assert.equal((await api.call('POST', `${api.jobPath(ws, 'exp', 'others')}/terminate`, { bearer: mine })).status, 403);
  assert.equal(
    (await api.call('POST', `${api.jobPath(ws, 'exp', 'others')}/listOutputFiles`, { bearer: mine })).status,
    403,
  );
  // Re-submitting someone else's job (even the same body) is not a way in.
  assert.equal((await api.call('PUT', api.jobPath(ws, 'exp', 'others'), { bearer: mine, body: job(2) })).status, 403);
  const listed = await api.call<{ value: { id: string }[] }>('GET', `${api.workspacePath(ws)}/experiments/exp/jobs`, {
    bearer: mine,
  });
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(
    listed.body.value.map((j) => j.id.split('/').pop()),
    ['own'],
  );
  // Nothing else in the workspace.
  assert.equal((await api.call('GET', `${api.workspacePath(ws)}/clusters/c1`, { bearer: mine })).status, 403);
  assert.equal((await api.call('DELETE', api.jobPath(ws, 'exp', 'own'), { bearer: mine })).status, 403);
  const terminate = await api.call('POST', `${api.jobPath(ws, 'exp', 'own')}/terminate`, { bearer: mine });
  assert.equal(terminate.status, 202, terminate.text);
  // The operation it started is its to poll.
  const poll = await api.call('GET', terminate.headers.get('location')!, { bearer: mine });
  assert.notEqual(poll.status, 403, poll.text);
});

test('roleAssignments: Owners grant and revoke; a Contributor cannot; a revoked role stops working at once', async () => {
  const scope = api.workspacePath('owner-ws');
  await grant('contrib', 'Contributor', scope);
  const contributor = await tokenFor('contrib');
  const name = randomUUID();
  const body = {
    properties: {
      roleDefinitionId: `/subscriptions/${api.sub}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_GUIDS.Reader}`,
      principalId: principalIdOf('someone'),
    },
  };
  const path = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
  const byContributor = await api.call('PUT', path, { apiVersion: '2022-04-01', bearer: contributor, body });
  assert.equal(byContributor.status, 403, byContributor.text);
  const created = await api.call<{ id: string; properties: Record<string, string> }>('PUT', path, {
    apiVersion: '2022-04-01',
    bearer: ownerToken,
    body,
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.id, path);
  assert.equal(created.body.properties.principalId, principalIdOf('someone'));
  assert.equal(created.body.properties.scope, scope);
  const again = await api.call('PUT', path, { apiVersion: '2022-04-01', bearer: ownerToken, body });
  assert.equal(again.status, 200, again.text);
  const duplicate = await api.call(
    'PUT',
    `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
    {
      apiVersion: '2022-04-01',
      bearer: ownerToken,
      body,
    },
  );
  assert.equal(duplicate.status, 409, duplicate.text);
  const someone = await tokenFor('someone');
  assert.equal((await api.call('GET', scope, { bearer: someone })).status, 200);
  const listed = await api.call<{ value: { name: string }[] }>(
    'GET',
    `${scope}/providers/Microsoft.Authorization/roleAssignments`,
    {
      apiVersion: '2022-04-01',
      bearer: contributor,
    },
  );
  assert.equal(listed.status, 200, listed.text);
  assert.ok(listed.body.value.some((a) => a.name === name));
  const badRole = await api.call('PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`, {
    apiVersion: '2022-04-01',
    bearer: ownerToken,
    body: {
      properties: {
        ...body.properties,
        roleDefinitionId: '/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000000',
      },
    },
  });
  assert.equal(badRole.status, 400, badRole.text);
  const removed = await api.call('DELETE', path, { apiVersion: '2022-04-01', bearer: ownerToken });
  assert.equal(removed.status, 200, removed.text);
  assert.equal((await api.call('GET', scope, { bearer: someone })).status, 403);
  assert.equal((await api.call('GET', path, { apiVersion: '2022-04-01', bearer: ownerToken })).status, 404);
});

test('blob and queue submissions act as the configured principal: recorded as the creator, refused outside its scope', async () => {
  const clusterId = await api.seedWorkspace('queue-ws');
  const queue = queueClient(stack.descriptor).getQueueClient('job-submissions');
  await queue.createIfNotExists();
  const send = (message: unknown) => queue.sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'));
  await send({
    id: api.jobPath('queue-ws', 'exp', 'q1'),
    properties: {
      cluster: { id: clusterId },
      nodeCount: 1,
      stdOutErrPathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/out',
      customToolkitSettings: { commandLine: 'echo q' },
    },
  });
  await waitFor(
    'the queued job',
    async () => (await api.call('GET', api.jobPath('queue-ws', 'exp', 'q1'), { bearer: ownerToken })).status === 200,
    120_000,
    200,
  );
  const { resource } = await cosmosClient(stack.descriptor)
    .database(stack.descriptor.cosmos.database)
    .container('resources')
    .item('job|exp|q1', `${api.sub}|${api.rg}|queue-ws`.toLowerCase())
    .read<{ resource: { createdBy?: string } }>();
  assert.equal(resource?.resource.createdBy, stack.descriptor.auth!.principalId);
  // A manifest blob goes the same way (Event Grid → the app), attributed to the same principal.
  const manifests = blobClient(stack.descriptor).getContainerClient('manifests');
  await manifests.createIfNotExists();
  const manifest = JSON.stringify({
    properties: {
      cluster: { id: clusterId },
      nodeCount: 1,
      stdOutErrPathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/out',
      customToolkitSettings: { commandLine: 'echo b' },
    },
  });
  await manifests.getBlockBlobClient('queue-ws/exp/b1.json').upload(manifest, manifest.length);
  await waitFor(
    'the manifest job',
    async () => (await api.call('GET', api.jobPath('queue-ws', 'exp', 'b1'), { bearer: ownerToken })).status === 200,
    120_000,
    200,
  );
  const fromBlob = await cosmosClient(stack.descriptor)
    .database(stack.descriptor.cosmos.database)
    .container('resources')
    .item('job|exp|b1', `${api.sub}|${api.rg}|queue-ws`.toLowerCase())
    .read<{ resource: { createdBy?: string } }>();
  assert.equal(fromBlob.resource?.resource.createdBy, stack.descriptor.auth!.principalId);
  // The stack's submission principal is Owner of the local subscription only: a job elsewhere is refused.
  const elsewhere =
    '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w/experiments/e/jobs/j';
  await send({ id: elsewhere, properties: { cluster: { id: clusterId }, nodeCount: 1 } });
  const poison = queueClient(stack.descriptor).getQueueClient('job-submissions-poison');
  const entry = await waitFor(
    'the refused submission in the poison queue',
    async () => {
      if (!(await poison.exists())) return undefined;
      const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
      return peekedMessageItems
        .map(
          (m) =>
            JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as {
              error: { code: string; message: string };
            },
        )
        .find((e) => e.error.message.includes('11111111-1111-1111-1111-111111111111'));
    },
    120_000,
    200,
  );
  assert.equal(entry.error.code, 'AuthorizationFailed');
});

test("a deleted workspace's role assignments go with it: a new workspace of the same name does not inherit them", async () => {
  const ws = api.workspacePath('reborn');
  assert.equal((await api.call('PUT', ws, { bearer: ownerToken, body: { location: 'local' } })).status, 200);
  await grant('old-reader', 'Reader', ws);
  const reader = await tokenFor('old-reader');
  assert.equal((await api.call('GET', ws, { bearer: reader })).status, 200);
  const deleted = await api.call('DELETE', ws, { bearer: ownerToken });
  assert.equal(deleted.status, 202, deleted.text);
  await api.waitForOperation(deleted.headers.get('location')!, 120_000);
  assert.equal((await api.call('PUT', ws, { bearer: ownerToken, body: { location: 'local' } })).status, 200);
  const again = await api.call('GET', ws, { bearer: reader });
  assert.equal(again.status, 403, again.text);
  const left = await api.call<{ value: unknown[] }>('GET', `${ws}/providers/Microsoft.Authorization/roleAssignments`, {
    apiVersion: '2022-04-01',
    bearer: ownerToken,
    headers: {},
  });
  assert.equal(left.status, 200, left.text);
  assert.ok(
    !JSON.stringify(left.body).includes(principalIdOf('old-reader')),
    'the old assignment is gone from the listing',
  );
});

test("a role granted to a group applies to tokens naming that group (Entra's groups claim)", async () => {
  const ws = api.workspacePath('owner-ws');
  await grant('team-readers', 'Reader', ws);
  const member = await mintToken(key, { issuer, principal: 'team-member', groups: [principalIdOf('team-readers')] });
  const outsider = await mintToken(key, { issuer, principal: 'team-member', groups: [principalIdOf('other-team')] });
  assert.equal((await api.call('GET', ws, { bearer: member })).status, 200);
  assert.equal((await api.call('GET', ws, { bearer: outsider })).status, 403);
  const write = await api.call('PATCH', ws, { bearer: member, body: { tags: { a: 'b' } } });
  assert.equal(write.status, 403, write.text);
});
