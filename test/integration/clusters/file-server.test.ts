import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BatchAiApi } from '../../support/api-client.js';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import { clusterBody, emulatorVms, isAlive, waitForNodes } from './harness.js';

// A file server is a one-VM scale set whose agent serves an export (locally a directory under the stack's shared
// network root); a cluster mounting it sees the same files on every node.

let stack: TestStack;
let api: BatchAiApi;

before(async () => {
  stack = await startTestStack();
  api = new BatchAiApi(stack.descriptor);
});
after(() => stack?.dispose());

interface FileServerView {
  properties: {
    provisioningState: string;
    mountSettings?: { mountPoint: string; fileServerInternalIP?: string; fileServerPublicIP?: string };
  };
}

test('a file server is provisioned with mount settings, mounted by a cluster, and deleted', { timeout: 300_000 }, () =>
  withServiceOutput(stack, async () => {
    const ws = api.workspacePath('ws');
    assert.equal((await api.call('PUT', ws, { body: { location: 'local' } })).status, 200);
    const fsPath = `${ws}/fileServers/nfs`;
    const created = await api.call('PUT', fsPath, {
      body: {
        properties: {
          vmSize: 'STANDARD_D2_V2',
          sshConfiguration: { userAccountSettings: { adminUserName: 'admin', adminUserPassword: 'fs-Pa55word' } },
          dataDisks: { diskSizeInGB: 10, diskCount: 2, storageAccountType: 'Standard_LRS' },
        },
      },
    });
    assert.equal(created.status, 202, created.text);
    const done = await api.waitForOperation(created.headers.get('location')!, 120_000);
    assert.equal(done.status, 200, done.text);
    const server = (await api.call<FileServerView>('GET', fsPath)).body;
    assert.equal(server.properties.provisioningState, 'succeeded');
    const mount = server.properties.mountSettings;
    assert.ok(mount, 'mountSettings are filled once the VM is up');
    assert.match(mount.mountPoint, /^\/exports\/bai-f\w+$/);
    assert.equal(mount.fileServerInternalIP, '127.0.0.1');
    assert.ok(!JSON.stringify(server).includes('fs-Pa55word'), 'the password is never returned');

    // A cluster mounts it; its setup task writes through the mount, and the file is in the server's export.
    const clusterPath = `${ws}/clusters/c`;
    const cluster = await api.call('PUT', clusterPath, {
      body: clusterBody(
        { manual: { targetNodeCount: 2 } },
        {
          nodeSetup: {
            mountVolumes: { fileServers: [{ fileServer: { id: fsPath }, relativeMountPath: 'nfs' }] },
            setupTask: {
              commandLine: 'echo "from $(hostname)" > $AZ_BATCHAI_MOUNT_ROOT/nfs/hello-$RANDOM$RANDOM.txt',
              stdOutErrPathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/nfs',
            },
          },
        },
      ),
    });
    assert.equal(cluster.status, 202, cluster.text);
    await waitForNodes(api, clusterPath, { idleNodeCount: 2, current: 2, steady: true }, 120_000);
    const exportDir = join(stack.dataDir, 'compute', 'network', 'nfs', mount.mountPoint.slice(1));
    const written = await waitFor(
      'both nodes to have written through the mount',
      async () => {
        const files = (await readdir(exportDir).catch(() => [] as string[])).filter((f) => f.startsWith('hello-'));
        return files.length === 2 && files;
      },
      30_000,
      100,
    );
    assert.match(await readFile(join(exportDir, written[0]!), 'utf8'), /^from /);

    // Delete the cluster, then the file server: no VM of either is left, and no agent process.
    const pids = (await emulatorVms(stack)).map((v) => v.pid);
    assert.equal(pids.length, 3, 'two cluster nodes and the file server');
    for (const path of [clusterPath, fsPath]) {
      const removed = await api.call('DELETE', path);
      assert.equal(removed.status, 202, removed.text);
      assert.equal((await api.waitForOperation(removed.headers.get('location')!, 120_000)).status, 204, path);
      assert.equal((await api.call('GET', path)).status, 404);
    }
    assert.deepEqual(await emulatorVms(stack), []);
    await waitFor('every agent process to exit', () => pids.every((p) => !isAlive(p)), 30_000, 100);
  }),
);
