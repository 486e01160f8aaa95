// The command lines the agent runs on Azure (they cannot run here): what they must and must not contain.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dockerRunArgs } from '../../../agent/container.js';
import { fileServerCommands } from '../../../agent/file-server-role.js';

test('a file server stripes several data disks as RAID 0 and exports the mount over NFS; one disk is used as is', () => {
  const [raid] = fileServerCommands(3, '/data');
  const script = raid?.[2] ?? '';
  assert.equal(raid?.[0], 'bash');
  assert.match(
    script,
    /mdadm --create \/dev\/md0 --run --level=0 --raid-devices=3 \/dev\/disk\/azure\/scsi1\/lun0 \S+lun1 \S+lun2/,
  );
  assert.match(script, /mkfs\.ext4 -F \/dev\/md0/);
  assert.match(script, /mount \/dev\/md0 '\/data'/);
  assert.match(script, /\/data \*\(rw,sync,no_root_squash,no_subtree_check\)/);
  const single = fileServerCommands(1, '/data')[0]?.[2] ?? '';
  assert.doesNotMatch(single, /mdadm/);
  assert.match(single, /mkfs\.ext4 -F \/dev\/disk\/azure\/scsi1\/lun0/);
});

test('docker run passes variables by name only, binds node paths at the same place, and keeps the command one argument', () => {
  const commandLine = 'python train.py --lr $LR; echo "done"';
  const args = dockerRunArgs({
    spec: { image: 'team/trainer:1', serverUrl: 'myreg.azurecr.io', shmSize: '8g' },
    name: 'batchai-job-1-master-abcd',
    cwd: '/mnt/batch/tasks/shared/LS_root/jobs/j',
    binds: [
      '/mnt/batch/tasks/shared/LS_root/mounts',
      '/mnt/batch/tasks/shared/LS_root/jobs',
      '/mnt/batch/tasks/shared/LS_root/mounts',
    ],
    envNames: ['AZ_BATCHAI_JOB_TEMP', 'TOKEN'],
    gpus: 2,
    commandLine,
  });
  assert.deepEqual(args.slice(0, 6), ['run', '--rm', '--name', 'batchai-job-1-master-abcd', '--network', 'host']);
  assert.deepEqual(args.slice(-4), ['myreg.azurecr.io/team/trainer:1', 'bash', '-c', commandLine]);
  assert.ok(args.includes('--shm-size') && args[args.indexOf('--shm-size') + 1] === '8g');
  assert.ok(args.includes('--gpus'));
  const volumes = args.flatMap((a, i) => (a === '-v' ? [args[i + 1]] : []));
  assert.deepEqual(volumes, [
    '/mnt/batch/tasks/shared/LS_root/mounts:/mnt/batch/tasks/shared/LS_root/mounts',
    '/mnt/batch/tasks/shared/LS_root/jobs:/mnt/batch/tasks/shared/LS_root/jobs',
  ]);
  const env = args.flatMap((a, i) => (a === '-e' ? [args[i + 1]] : []));
  assert.deepEqual(env, ['AZ_BATCHAI_JOB_TEMP', 'TOKEN'], 'names only: values (secrets) never on the command line');
  const noGpu = dockerRunArgs({
    spec: { image: 'x' },
    name: 'n',
    cwd: '/',
    binds: [],
    envNames: [],
    gpus: 0,
    commandLine: 'true',
  });
  assert.ok(!noGpu.includes('--gpus'));
  assert.equal(noGpu.at(-4), 'x');
});
