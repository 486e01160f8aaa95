import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BatchAiApi } from '../../support/api-client.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';

// Every operation of the API on the real local stack: Functions host + Durable backend + Cosmos + Azurite.
let stack: TestStack;
let api: BatchAiApi;

before(async () => {
  stack = await startTestStack();
  api = new BatchAiApi(stack.descriptor);
});
after(() => stack?.dispose());

const t = (name: string, body: () => Promise<void>) => test(name, () => withServiceOutput(stack, body));

interface Resource {
  id: string;
  name: string;
  type: string;
  location?: string;
  tags?: Record<string, string>;
  properties: Record<string, unknown>;
}

const cluster = (ws: string) => ({
  properties: {
    vmSize: 'STANDARD_NC6',
    vmPriority: 'lowpriority',
    scaleSettings: { manual: { targetNodeCount: 2 } },
    userAccountSettings: { adminUserName: 'admin', adminUserPassword: 'cluster-Pa55word' },
    nodeSetup: {
      mountVolumes: {
        azureFileShares: [
          {
            accountName: 'acct',
            azureFileUrl: 'https://acct.file.core.windows.net/share',
            relativeMountPath: 'afs',
            credentials: { accountKey: 'account-KEY==' },
          },
        ],
      },
    },
  },
  ws,
});

const job = (clusterId: string, extra: Record<string, unknown> = {}) => ({
  properties: {
    cluster: { id: clusterId },
    nodeCount: 1,
    stdOutErrPathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/afs',
    customToolkitSettings: { commandLine: 'echo hi' },
    secrets: [{ name: 'API_TOKEN', value: 'job-s3cret-value' }],
    outputDirectories: [{ id: 'MODEL', pathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/afs' }],
    ...extra,
  },
});

const workspaceWithCluster = (ws: string) => api.seedWorkspace(ws, { clusterProperties: cluster(ws).properties });

t('workspaces: create, get, update tags, list by subscription and resource group, idempotent PUT', async () => {
  const path = api.workspacePath('ws-a');
  const created = await api.call<Resource>('PUT', path, { body: { location: 'local', tags: { team: 'vision' } } });
  assert.equal(created.status, 200, created.text);
  assert.equal(created.body.type, 'Microsoft.BatchAI/workspaces');
  assert.equal(created.body.properties.provisioningState, 'succeeded');
  const again = await api.call<Resource>('PUT', path, { body: { location: 'local', tags: { team: 'vision' } } });
  assert.equal(again.body.properties.creationTime, created.body.properties.creationTime, 'a repeated PUT is a no-op');
  const patched = await api.call<Resource>('PATCH', path, { body: { tags: { team: 'nlp' } } });
  assert.deepEqual(patched.body.tags, { team: 'nlp' });
  const moved = await api.call('PUT', path, { body: { location: 'westus2' } });
  assert.equal(moved.status, 409, moved.text);
  const bySub = await api.call<{ value: Resource[] }>(
    'GET',
    `/subscriptions/${api.sub}/providers/Microsoft.BatchAI/workspaces`,
  );
  assert.ok(bySub.body.value.some((w) => w.name === 'ws-a'));
  const byRg = await api.call<{ value: Resource[] }>(
    'GET',
    `/subscriptions/${api.sub}/resourceGroups/${api.rg}/providers/Microsoft.BatchAI/workspaces`,
  );
  assert.ok(byRg.body.value.some((w) => w.id === path));
  const missing = await api.call<{ error: { code: string } }>('GET', api.workspacePath('nope'));
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'ResourceNotFound');
});

t(
  'clusters: 202 with operation URLs, succeeded once compute provisioned it, PATCH scale, secrets never returned',
  async () => {
    await api.call('PUT', api.workspacePath('ws-c'), { body: { location: 'local' } });
    const path = `${api.workspacePath('ws-c')}/clusters/gpu`;
    const created = await api.call<Resource>('PUT', path, { body: { properties: cluster('ws-c').properties } });
    assert.equal(created.status, 202, created.text);
    assert.match(created.headers.get('location') ?? '', /\/operationresults\/[-0-9a-f]+\?api-version=2018-05-01$/);
    assert.match(created.headers.get('azure-asyncoperation') ?? '', /\/operationStatuses\//);
    assert.equal(created.headers.get('retry-after'), '1');
    const got = await api.call<Resource>('GET', path);
    assert.ok(['creating', 'succeeded'].includes(String(got.body.properties.provisioningState)), got.text);
    for (const secret of ['cluster-Pa55word', 'account-KEY=='])
      assert.ok(!got.text.includes(secret), `${secret} never returned`);
    // The operation completes when the cluster's lifecycle has provisioned it (the cluster is first steady).
    const done = await api.waitForOperation(created.headers.get('location')!, 120_000);
    assert.equal(done.status, 200, done.text);
    const status = await api.call<{ status: string }>('GET', created.headers.get('azure-asyncoperation')!);
    assert.equal(status.body.status, 'Succeeded');
    const provisioned = await api.call<Resource>('GET', path);
    assert.equal(provisioned.body.properties.provisioningState, 'succeeded');
    assert.equal(provisioned.body.properties.allocationState, 'steady');
    const patched = await api.call<Resource>('PATCH', path, {
      body: { properties: { scaleSettings: { manual: { targetNodeCount: 4 } } } },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(
      (patched.body.properties.scaleSettings as { manual: { targetNodeCount: number } }).manual.targetNodeCount,
      4,
    );
    const different = await api.call('PUT', path, {
      body: { properties: { ...cluster('ws-c').properties, vmSize: 'STANDARD_D1' } },
    });
    assert.equal(different.status, 409, different.text);
    const list = await api.call<{ value: Resource[] }>('GET', `${api.workspacePath('ws-c')}/clusters`);
    assert.deepEqual(
      list.body.value.map((c) => c.name),
      ['gpu'],
    );
    const logins = await api.call<{ value: Array<{ nodeId: string }> }>('POST', `${path}/listRemoteLoginInformation`);
    assert.equal(logins.status, 200, logins.text);
    for (const login of logins.body.value) assert.match(login.nodeId, /^bai-c\w+_\d+$/);
  },
);

t('jobs: submit (LRO), idempotent resubmit, conflict on change, terminate, output files, delete', async () => {
  const clusterId = await workspaceWithCluster('ws-j');
  const path = api.jobPath('ws-j', 'exp', 'train');
  const submitted = await api.call<Resource>('PUT', path, { body: job(clusterId) });
  assert.equal(submitted.status, 202, submitted.text);
  assert.ok(!submitted.text.includes('job-s3cret-value'));
  const done = await api.waitForOperation(submitted.headers.get('location')!);
  assert.equal(done.status, 200, done.text);
  const view = done.body as Resource;
  assert.equal(view.type, 'Microsoft.BatchAI/workspaces/experiments/jobs');
  assert.equal(view.properties.provisioningState, 'succeeded');
  assert.equal(view.properties.executionState, 'queued');
  assert.equal(view.properties.toolType, 'custom');
  assert.equal(view.properties.schedulingPriority, 'normal');
  assert.equal((view.properties.constraints as { maxWallClockTime: string }).maxWallClockTime, 'P7D');
  assert.deepEqual(view.properties.secrets, [{ name: 'API_TOKEN' }]);

  const again = await api.call<Resource>('PUT', path, { body: job(clusterId) });
  assert.equal(again.status, 200, 'the same job again is a no-op');
  assert.equal(again.body.properties.creationTime, view.properties.creationTime);
  const changed = await api.call<{ error: { code: string } }>('PUT', path, { body: job(clusterId, { nodeCount: 2 }) });
  assert.equal(changed.status, 409);
  assert.equal(changed.body.error.code, 'ResourceUpdateNotSupported');

  const outputs = await api.call<{ value: unknown[] }>('POST', `${path}/listOutputFiles?outputdirectoryid=MODEL`);
  assert.equal(outputs.status, 200, outputs.text);
  assert.deepEqual(outputs.body.value, []);
  const unknownDir = await api.call<{ error: { target: string } }>(
    'POST',
    `${path}/listOutputFiles?outputdirectoryid=NOPE`,
  );
  assert.equal(unknownDir.status, 400);
  assert.equal(unknownDir.body.error.target, 'outputdirectoryid');

  const terminate = await api.call('POST', `${path}/terminate`);
  assert.equal(terminate.status, 202);
  const retried = await api.call('POST', `${path}/terminate`);
  assert.ok(retried.status === 202, retried.text);
  const terminated = await api.waitForOperation(terminate.headers.get('location')!);
  assert.equal(terminated.status, 200);
  const after = await api.call<Resource>('GET', path);
  assert.equal(after.body.properties.executionState, 'failed');
  const info = after.body.properties.executionInfo as { errors: { code: string }[] };
  assert.equal(info.errors[0]?.code, 'JobTerminated');

  const removed = await api.call('DELETE', path);
  assert.equal(removed.status, 202);
  assert.equal((await api.waitForOperation(removed.headers.get('location')!)).status, 204);
  assert.equal((await api.call('GET', path)).status, 404);
  assert.equal((await api.call('DELETE', path)).status, 204, 'deleting what is gone is a 204');
});

t('jobs list page by page with nextLink', async () => {
  const clusterId = await workspaceWithCluster('ws-p');
  for (let i = 0; i < 5; i++) {
    const r = await api.call('PUT', api.jobPath('ws-p', 'exp', `job-${i}`), { body: job(clusterId) });
    assert.equal(r.status, 202, r.text);
  }
  const names: string[] = [];
  let next: string | undefined = `${api.workspacePath('ws-p')}/experiments/exp/jobs?maxresults=2`;
  let pages = 0;
  while (next && pages < 10) {
    const page: { body: { value: Resource[]; nextLink?: string } } = await api.call('GET', next);
    names.push(...page.body.value.map((j) => j.name));
    next = page.body.nextLink;
    pages += 1;
  }
  assert.deepEqual(names, ['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
  assert.equal(pages, 3);
});

t('deleting a workspace deletes what is inside it, and nothing of any other workspace', async () => {
  await workspaceWithCluster('ws-d');
  await workspaceWithCluster('ws-keep');
  const removed = await api.call('DELETE', api.workspacePath('ws-d'));
  assert.equal(removed.status, 202);
  assert.equal((await api.waitForOperation(removed.headers.get('location')!)).status, 204);
  assert.equal((await api.call('GET', `${api.workspacePath('ws-d')}/clusters/c1`)).status, 404);
  assert.equal((await api.call('GET', `${api.workspacePath('ws-d')}/experiments/exp`)).status, 404);
  assert.equal((await api.call('GET', `${api.workspacePath('ws-keep')}/clusters/c1`)).status, 200);
  assert.equal((await api.call('GET', `${api.workspacePath('ws-keep')}/experiments/exp`)).status, 200);
});

t('file servers, experiments, operations, usages', async () => {
  await api.call('PUT', api.workspacePath('ws-f'), { body: { location: 'local' } });
  const fs = await api.call<Resource>('PUT', `${api.workspacePath('ws-f')}/fileServers/nfs`, {
    body: {
      properties: {
        vmSize: 'STANDARD_D2',
        sshConfiguration: { userAccountSettings: { adminUserName: 'admin', adminUserPassword: 'fs-Pa55' } },
        dataDisks: { diskSizeInGB: 10, diskCount: 2, storageAccountType: 'Standard_LRS' },
      },
    },
  });
  assert.equal(fs.status, 202, fs.text);
  assert.ok(!fs.text.includes('fs-Pa55'));
  const fsList = await api.call<{ value: Resource[] }>('GET', `${api.workspacePath('ws-f')}/fileServers`);
  assert.deepEqual(
    fsList.body.value.map((f) => f.name),
    ['nfs'],
  );
  const exps = await api.call<{ value: Resource[] }>('GET', `${api.workspacePath('ws-f')}/experiments`);
  assert.deepEqual(exps.body.value, []);
  const ops = await api.call<{ value: { name: string }[] }>('GET', '/providers/Microsoft.BatchAI/operations');
  assert.ok(ops.body.value.some((o) => o.name === 'Microsoft.BatchAI/workspaces/experiments/jobs/write'));
  const usages = await api.call<{ value: { name: { value: string }; currentValue: number; limit: number }[] }>(
    'GET',
    `/subscriptions/${api.sub}/providers/Microsoft.BatchAI/locations/local/usages`,
  );
  const clusters = usages.body.value.find((u) => u.name.value === 'Clusters');
  assert.ok(clusters && clusters.currentValue >= 1 && clusters.limit === 20, usages.text);
});

t('get and delete of experiments, clusters and file servers', async () => {
  const clusterId = await workspaceWithCluster('ws-g');
  const ws = api.workspacePath('ws-g');
  const exp = await api.call<Resource>('GET', `${ws}/experiments/exp`);
  assert.equal(exp.status, 200);
  assert.equal(exp.body.type, 'Microsoft.BatchAI/workspaces/experiments');
  const cluster = await api.call<Resource>('GET', clusterId.replace(/^.*?\/subscriptions\//, '/subscriptions/'));
  assert.equal(cluster.body.name, 'c1');
  const fsBody = {
    properties: {
      vmSize: 'STANDARD_D2',
      sshConfiguration: { userAccountSettings: { adminUserName: 'admin', adminUserPassword: 'x' } },
      dataDisks: { diskSizeInGB: 10, diskCount: 1, storageAccountType: 'Standard_LRS' },
    },
  };
  assert.equal((await api.call('PUT', `${ws}/fileServers/nfs`, { body: fsBody })).status, 202);
  const fs = await api.call<Resource>('GET', `${ws}/fileServers/nfs`);
  assert.equal(fs.body.type, 'Microsoft.BatchAI/workspaces/fileServers');
  assert.equal(fs.body.properties.provisioningState, 'creating');
  for (const path of [`${ws}/fileServers/nfs`, `${ws}/clusters/c1`, `${ws}/experiments/exp`]) {
    const removed = await api.call('DELETE', path);
    assert.equal(removed.status, 202, path);
    assert.equal((await api.waitForOperation(removed.headers.get('location')!)).status, 204, path);
    assert.equal((await api.call('GET', path)).status, 404, path);
  }
  assert.equal((await api.call('GET', ws)).status, 200, 'the workspace itself stays');
});

t('errors at the edge: api-version, keys, JSON, unknown fields, bad names — never a 5xx', async () => {
  const path = api.workspacePath('ws-e');
  const noVersion = await api.call<{ error: { code: string } }>('GET', path, { apiVersion: null });
  assert.equal(noVersion.status, 400);
  assert.equal(noVersion.body.error.code, 'MissingApiVersionParameter');
  const oldVersion = await api.call<{ error: { code: string } }>('GET', path, { apiVersion: '2018-03-01' });
  assert.equal(oldVersion.body.error.code, 'InvalidApiVersionParameter');
  assert.equal((await api.call('GET', path, { key: null })).status, 401, 'every route needs a key');
  assert.equal((await api.call('GET', path, { key: 'wrong' })).status, 401);
  const badJson = await api.call<{ error: { code: string } }>('PUT', path, {
    rawBody: '{"location":',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.error.code, 'InvalidRequestContent');
  const leak = await api.call<{ error: { message: string } }>('PUT', path, {
    rawBody: '{"location": "local", "tags": {"x": Passw0rd-very-secret}}',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(leak.status, 400);
  assert.ok(!leak.text.includes('Passw0rd'), `the error does not quote the body: ${leak.text}`);
  for (const list of [`/subscriptions/${api.sub}/providers/Microsoft.BatchAI/workspaces`, `${path}/experiments`]) {
    await api.call('PUT', path, { body: { location: 'local' } });
    const garbage = await api.call<{ error: { target: string } }>('GET', `${list}?$skipToken=not-a-token`);
    assert.equal(garbage.status, 400, `${list}: ${garbage.text}`);
    assert.equal(garbage.body.error.target, '$skipToken');
  }
  const badName = await api.call('PUT', api.workspacePath('bad.name'), { body: { location: 'local' } });
  assert.equal(badName.status, 400, badName.text);
  await api.call('PUT', path, { body: { location: 'local' } });
  const clusterTypo = await api.call<{ error: { target: string } }>('PUT', `${path}/clusters/c`, {
    body: { properties: { vmSize: 'STANDARD_D1', userAccountSettings: { adminUserName: 'a' }, scaleSetings: {} } },
  });
  assert.equal(clusterTypo.status, 400);
  assert.equal(clusterTypo.body.error.target, 'properties.scaleSetings');
  const noParent = await api.call<{ error: { code: string } }>('PUT', api.jobPath('ws-e', 'missing', 'j'), {
    body: job(api.clusterId('ws-e', 'c')),
  });
  assert.equal(noParent.status, 404);
  assert.equal(noParent.body.error.code, 'ParentResourceNotFound');
});

t('the OpenAPI 2.0 document names every operation and allows Logic Apps to fetch it', async () => {
  const doc = await api.call<{ swagger: string; paths: Record<string, Record<string, { operationId: string }>> }>(
    'GET',
    '/openapi.json',
    { apiVersion: null },
  );
  assert.equal(doc.status, 200);
  assert.equal(doc.body.swagger, '2.0');
  assert.equal(doc.headers.get('access-control-allow-origin'), '*');
  const operationIds = Object.values(doc.body.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
  for (const id of [
    'Jobs_Create',
    'Jobs_Terminate',
    'Clusters_Update',
    'Workspaces_ListByResourceGroup',
    'Usages_List',
    'Operations_List',
  ]) {
    assert.ok(operationIds.includes(id), id);
  }
  assert.equal(new Set(operationIds).size, operationIds.length, 'operationIds are unique');
  const preflight = await fetch(`${api.base}/openapi.json`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://portal.azure.com' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
});
