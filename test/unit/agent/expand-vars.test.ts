// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the syntax under test, not a template mistake
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandVars } from '../../../agent/expand-vars.js';
import { nodePaths } from '../../../agent/node-paths.js';
import { resolveNodePath, taskEnvironment } from '../../../agent/task-env.js';

const env: Record<string, string> = { AZ_BATCHAI_MOUNT_ROOT: '/mnt/batch/tasks/shared/LS_root/mounts', JOB: 'j1' };
const lookup = (n: string) => env[n];

test('$NAME and ${NAME} expand; unknown names and lone dollars stay as written', () => {
  assert.equal(expandVars('$AZ_BATCHAI_MOUNT_ROOT/afs/x', lookup), '/mnt/batch/tasks/shared/LS_root/mounts/afs/x');
  assert.equal(
    expandVars('${AZ_BATCHAI_MOUNT_ROOT}/${JOB}_out', lookup),
    '/mnt/batch/tasks/shared/LS_root/mounts/j1_out',
  );
  assert.equal(expandVars('$JOB_out', lookup), '$JOB_out', 'the longest name is the name, as in bash');
  assert.equal(expandVars('cost: $5 and $ alone and $UNKNOWN', lookup), 'cost: $5 and $ alone and $UNKNOWN');
  assert.equal(expandVars('no variables', lookup), 'no variables');
});

test('locally, node paths are rebased under the disk; paths already on the disk are kept', () => {
  const paths = nodePaths({ diskRoot: '/vm/disk1', mountRoot: '/mnt/batch/tasks/shared/LS_root/mounts' });
  assert.equal(paths.mountRoot, '/vm/disk1/mnt/batch/tasks/shared/LS_root/mounts');
  assert.equal(paths.real('/mnt/batch/x'), '/vm/disk1/mnt/batch/x');
  assert.equal(paths.real('/vm/disk1/mnt/batch/x'), '/vm/disk1/mnt/batch/x');
  const base = { AZ_BATCHAI_MOUNT_ROOT: paths.mountRoot };
  assert.equal(
    resolveNodePath('$AZ_BATCHAI_MOUNT_ROOT/bfs/logs', base, paths),
    '/vm/disk1/mnt/batch/tasks/shared/LS_root/mounts/bfs/logs',
  );
  const azure = nodePaths({ mountRoot: '/mnt/batch/tasks/shared/LS_root/mounts' });
  assert.equal(azure.local, false);
  assert.equal(azure.real('/mnt/batch/x'), '/mnt/batch/x');
});

test('task variables expand in order, node paths among them are rebased, secrets come last', () => {
  const paths = nodePaths({ diskRoot: '/vm/d', mountRoot: '/mnt/m' });
  const out = taskEnvironment(
    { AZ_BATCHAI_MOUNT_ROOT: paths.mountRoot },
    paths,
    [
      { name: 'AZ_BATCHAI_JOB_TEMP', value: '/mnt/batch/tasks/shared/LS_root/jobs/j' },
      { name: 'HOSTFILE', value: '$AZ_BATCHAI_JOB_TEMP/hostfile' },
      { name: 'DATA', value: '${AZ_BATCHAI_MOUNT_ROOT}/data' },
      { name: 'TOKEN', value: 'overridden' },
    ],
    [{ name: 'TOKEN', value: { alg: 'X25519-HKDF-SHA256-A256GCM', epk: '', iv: '', ct: '' } }],
    () => 'opened',
  );
  assert.equal(out.AZ_BATCHAI_JOB_TEMP, '/vm/d/mnt/batch/tasks/shared/LS_root/jobs/j');
  assert.equal(out.HOSTFILE, '/vm/d/mnt/batch/tasks/shared/LS_root/jobs/j/hostfile');
  assert.equal(out.DATA, '/vm/d/mnt/m/data');
  assert.equal(out.TOKEN, 'opened');
});
