import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  checkOutputBrowseDirectory,
  type JobProperties,
  jobOutputLocation,
  type MountVolumes,
  outputDirectoryPath,
  resolveMount,
  stdOutErrDirectoryPath,
  storageLocation,
  validateJobCreate,
} from '../../../shared/domain/index.js';
import { assertAccepted } from './assertions.js';
import { CLUSTER_ID, FILE_SERVER_ID } from './fixtures.js';

const SEGMENT = 'sub/rg/workspaces/ws/experiments/exp/jobs/train/uid-1';
const KEY = { accountKey: 'a2V5' };

const jobMounts: MountVolumes = {
  azureFileShares: [
    {
      accountName: 'acct',
      azureFileUrl: 'https://acct.file.core.windows.net/logs',
      credentials: KEY,
      relativeMountPath: 'logs',
      fileMode: '0777',
      directoryMode: '0777',
    },
    {
      accountName: 'acct',
      azureFileUrl: 'https://acct.file.core.windows.net/share/sub/dir',
      credentials: KEY,
      relativeMountPath: 'deep',
      fileMode: '0777',
      directoryMode: '0777',
    },
  ],
  azureBlobFileSystems: [
    { accountName: 'acct', containerName: 'data', credentials: KEY, relativeMountPath: 'data' },
    { accountName: 'acct', containerName: 'nested', credentials: KEY, relativeMountPath: 'data/nested' },
  ],
  unmanagedFileSystems: [{ mountCommand: 'mount -t tmpfs none', relativeMountPath: 'scratch' }],
};
const clusterMounts: MountVolumes = {
  fileServers: [{ fileServer: { id: FILE_SERVER_ID }, relativeMountPath: 'nfs', sourceDirectory: 'exports/a' }],
};

describe('output paths', () => {
  test('{pathPrefix}/{segment}/{pathSuffix} and {stdOutErrPathPrefix}/{segment}/stdouterr', () => {
    assert.equal(
      outputDirectoryPath('$AZ_BATCHAI_JOB_MOUNT_ROOT/logs/', SEGMENT, 'models'),
      `$AZ_BATCHAI_JOB_MOUNT_ROOT/logs/${SEGMENT}/models`,
    );
    assert.equal(outputDirectoryPath('/mnt/out', SEGMENT), `/mnt/out/${SEGMENT}`);
    assert.equal(stdOutErrDirectoryPath('/mnt/logs', SEGMENT), `/mnt/logs/${SEGMENT}/stdouterr`);
  });
});

describe('which mount a path is on, and the storage behind it', () => {
  const mounts = { job: jobMounts, cluster: clusterMounts };

  test('job mounts under $AZ_BATCHAI_JOB_MOUNT_ROOT, cluster mounts under $AZ_BATCHAI_MOUNT_ROOT, both spellings', () => {
    assert.deepEqual(resolveMount('$AZ_BATCHAI_JOB_MOUNT_ROOT/logs/a/b', mounts), {
      scope: 'job',
      kind: 'azureFileShares',
      index: 0,
      relativeMountPath: 'logs',
      subPath: 'a/b',
    });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the braced form of a Batch AI variable reference.
    assert.equal(resolveMount('${AZ_BATCHAI_MOUNT_ROOT}/nfs', mounts)?.scope, 'cluster');
    assert.equal(resolveMount('$AZ_BATCHAI_MOUNT_ROOT/logs/x', mounts), undefined, 'logs is a job mount');
    assert.equal(resolveMount('$AZ_BATCHAI_JOB_MOUNT_ROOTX/logs', mounts), undefined, 'another variable');
  });

  test('the longest mount path wins when mounts nest', () => {
    assert.equal(resolveMount('$AZ_BATCHAI_JOB_MOUNT_ROOT/data/nested/x', mounts)?.index, 1);
    assert.equal(resolveMount('$AZ_BATCHAI_JOB_MOUNT_ROOT/data/nestedx', mounts)?.index, 0);
  });

  test('expanded node paths are recognised given the node roots', () => {
    const roots = { mountRoot: '/mnt/root/mounts', jobMountRoot: '/mnt/root/jobs/j/mounts' };
    assert.equal(resolveMount('/mnt/root/jobs/j/mounts/logs/x', mounts, roots)?.relativeMountPath, 'logs');
    assert.equal(resolveMount('/mnt/root/mounts/nfs/y', mounts, roots)?.scope, 'cluster');
  });

  test('storage locations: file share + directory, blob container + prefix, file server + directory', () => {
    assert.deepEqual(storageLocation(`$AZ_BATCHAI_JOB_MOUNT_ROOT/deep/${SEGMENT}`, mounts), {
      kind: 'azureFileShare',
      accountName: 'acct',
      azureFileUrl: 'https://acct.file.core.windows.net/share/sub/dir',
      shareName: 'share',
      directory: `sub/dir/${SEGMENT}`,
    });
    assert.deepEqual(storageLocation(`$AZ_BATCHAI_JOB_MOUNT_ROOT/data/${SEGMENT}/m`, mounts), {
      kind: 'azureBlob',
      accountName: 'acct',
      containerName: 'data',
      prefix: `${SEGMENT}/m/`,
    });
    assert.deepEqual(storageLocation('$AZ_BATCHAI_MOUNT_ROOT/nfs/out', mounts), {
      kind: 'fileServer',
      fileServerId: FILE_SERVER_ID,
      directory: 'exports/a/out',
    });
    assert.equal(storageLocation('$AZ_BATCHAI_JOB_MOUNT_ROOT/scratch/o', mounts).kind, 'unmanaged');
    assert.deepEqual(storageLocation('/tmp/out', mounts), { kind: 'nodeLocal', path: '/tmp/out' });
  });

  test("a job's output directories and stdouterr, ids matched case-insensitively", () => {
    const job: JobProperties = assertAccepted(
      validateJobCreate({
        properties: {
          cluster: { id: CLUSTER_ID },
          nodeCount: 1,
          customToolkitSettings: { commandLine: 'true' },
          stdOutErrPathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/logs',
          mountVolumes: jobMounts,
          outputDirectories: [{ id: 'MODEL', pathPrefix: '$AZ_BATCHAI_MOUNT_ROOT/nfs', pathSuffix: 'models' }],
        },
      }),
    );
    const logs = jobOutputLocation(job, SEGMENT, 'stdOutErr');
    assert.equal(logs?.path, `$AZ_BATCHAI_JOB_MOUNT_ROOT/logs/${SEGMENT}/stdouterr`);
    assert.deepEqual(logs?.location, {
      kind: 'azureFileShare',
      accountName: 'acct',
      azureFileUrl: 'https://acct.file.core.windows.net/logs',
      shareName: 'logs',
      directory: `${SEGMENT}/stdouterr`,
    });
    const model = jobOutputLocation(job, SEGMENT, 'model', clusterMounts);
    assert.equal(model?.id, 'MODEL');
    assert.deepEqual(model?.location, {
      kind: 'fileServer',
      fileServerId: FILE_SERVER_ID,
      directory: `exports/a/${SEGMENT}/models`,
    });
    assert.equal(jobOutputLocation(job, SEGMENT, 'nope'), undefined);
  });
});

describe('listOutputFiles `directory`', () => {
  test('relative paths are accepted and normalized', () => {
    for (const [input, value] of [
      [undefined, ''],
      ['.', ''],
      ['', ''],
      ['checkpoints', 'checkpoints'],
      ['a//b/./c/', 'a/b/c'],
      ['epoch%201', 'epoch 1'],
      ['..data', '..data'],
    ] as const) {
      assert.deepEqual(checkOutputBrowseDirectory(input), { ok: true, value }, String(input));
    }
  });

  test('escapes are refused in any spelling', () => {
    for (const input of [
      '..',
      'a/../../b',
      '/etc',
      '~/x',
      'C:/x',
      'a\\..\\b',
      '%2e%2e',
      '%2E%2E/x',
      'a%2f..%2fb',
      '%252e%252e',
      '%25252e%25252e%25252f',
      '%2fetc',
      'a%00b',
      'a\u0000b',
    ]) {
      const result = checkOutputBrowseDirectory(input);
      assert.equal(result.ok, false, `${JSON.stringify(input)} was accepted`);
    }
  });

  test('property: whatever is accepted stays inside the output directory', () => {
    const pieces = fc.constantFrom('a', 'b', '.', '..', '%2e', '%2E%2e', '%2f', '%5c', '/', '\\', '%25', '~', 'C:');
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 8 }), (parts) => {
        const input = parts.join('');
        const result = checkOutputBrowseDirectory(input);
        if (!result.ok) return;
        let text = input;
        for (let i = 0; i < 6; i++) {
          try {
            text = decodeURIComponent(text);
          } catch {
            break;
          }
        }
        assert.ok(!text.split(/[/\\]/).includes('..'), `${input} escapes`);
        assert.ok(!text.startsWith('/') && !text.startsWith('\\'), `${input} is absolute`);
        assert.ok(!result.value.split('/').includes('..'));
      }),
      { numRuns: 2000 },
    );
  });
});
