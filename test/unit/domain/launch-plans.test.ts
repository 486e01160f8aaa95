import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type AllocatedNode,
  agentCommandSchema,
  checkNodeCanRun,
  clusterAllowsHostExecution,
  HOST_EXECUTION_IMAGE,
  type JobProperties,
  type JobResourceId,
  jobOutputDirectoryPathSegment,
  type LaunchPlan,
  type NodeLayout,
  type PlannedTask,
  planLaunch,
  planMounts,
  RENDEZVOUS_PORTS_PER_NODE,
  runTaskCommand,
  SEALED_FOR_NODE_ALG,
  validateJobCreate,
} from '../../../shared/domain/index.js';
import { assertAccepted } from './assertions.js';
import { CLUSTER_ID, FILE_SERVER_ID, fullJob, marker } from './fixtures.js';

const JOB_ID: JobResourceId = {
  kind: 'job',
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'demo_resource_group',
  workspace: 'demo_workspace',
  experiment: 'exp',
  job: 'train',
};
const UID = '11111111-2222-3333-4444-555555555555';
const SEGMENT = jobOutputDirectoryPathSegment(JOB_ID, UID);
const MOUNTS = '/mnt/batch/tasks/shared/LS_root/mounts';
const JOBS = '/mnt/batch/tasks/shared/LS_root/jobs';
const JOB_TEMP = `${JOBS}/demo_workspace/exp/train/${UID}`;

/** Every variable environment-variables.md lists for all jobs. */
const TABLE = [
  'AZ_BATCHAI_MOUNT_ROOT',
  'AZ_BATCHAI_JOB_TEMP',
  'AZ_BATCHAI_JOB_TEMP_DIR',
  'AZ_BATCHAI_SHARED_JOB_TEMP',
  'AZ_BATCHAI_STDOUTERR_DIR',
  'AZ_BATCHAI_MPI_HOST_FILE',
  'AZ_BATCHAI_NUM_GPUS',
  'AZ_BATCHAI_JOB_MOUNT_ROOT',
  'AZ_BATCHAI_TASK_INDEX',
];

function jobOf(properties: Record<string, unknown>): JobProperties {
  return assertAccepted(
    validateJobCreate({
      properties: {
        cluster: { id: CLUSTER_ID },
        stdOutErrPathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/logs',
        ...properties,
      },
    }),
  );
}

function azureNodes(count: number, gpus = 0): AllocatedNode[] {
  return Array.from({ length: count }, (_, i) => ({
    nodeId: `tvm-${i}`,
    ipAddress: `10.0.0.${4 + i}`,
    port: 50000 + i,
    gpus,
  }));
}

function localNodes(count: number, layout?: NodeLayout): AllocatedNode[] {
  return Array.from({ length: count }, (_, i) => ({
    nodeId: `local-${i}`,
    ipAddress: '127.0.0.1',
    port: 50000 + i,
    gpus: 0,
    rendezvousPort: 40000 + i * RENDEZVOUS_PORTS_PER_NODE,
    ...(layout ? { layout } : {}),
  }));
}

function plan(job: JobProperties, nodes: AllocatedNode[], hostExecution?: boolean): LaunchPlan {
  const result = planLaunch({
    jobId: JOB_ID,
    uid: UID,
    attempt: 1,
    job,
    nodes,
    ...(hostExecution ? { hostExecution } : {}),
  });
  if (!result.ok) assert.fail(`no plan: ${JSON.stringify(result.error)}`);
  return result.plan;
}

const env = (task: PlannedTask) => new Map(task.environmentVariables.map((v) => [v.name, v.value]));
const byTask = (p: LaunchPlan, taskId: string) => {
  const task = p.tasks.find((t) => t.taskId === taskId);
  assert.ok(task, `no task ${taskId} in ${p.tasks.map((t) => t.taskId).join(', ')}`);
  return task;
};

describe('launch plans: the environment of every job', () => {
  const job = jobOf({
    nodeCount: 2,
    customToolkitSettings: { commandLine: 'python $AZ_BATCHAI_JOB_MOUNT_ROOT/scripts/train.py' },
    inputDirectories: [{ id: 'DATA', path: '$AZ_BATCHAI_MOUNT_ROOT/data/mnist' }],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the braced form of a Batch AI variable reference.
    outputDirectories: [{ id: 'MODEL', pathPrefix: '${AZ_BATCHAI_JOB_MOUNT_ROOT}/logs', pathSuffix: 'models' }],
    environmentVariables: [
      { name: 'CHECKPOINTS', value: '$AZ_BATCHAI_OUTPUT_MODEL/ckpt' },
      { name: 'LEFT_FOR_BASH', value: '$HOME/x' },
      { name: 'AZ_BATCHAI_MOUNT_ROOT', value: '/elsewhere' },
    ],
    jobPreparation: { commandLine: 'pip install -r requirements.txt' },
  });
  const p = plan(job, azureNodes(2, 4));

  test('customToolkit runs its command line on the master node only; preparation runs on every node', () => {
    assert.deepEqual(
      p.tasks.map((t) => [t.nodeId, t.taskId, t.commandLine]),
      [['tvm-0', 'master', 'python $AZ_BATCHAI_JOB_MOUNT_ROOT/scripts/train.py']],
    );
    assert.deepEqual(
      p.preparation.map((t) => [t.nodeId, t.commandLine]),
      [
        ['tvm-0', 'pip install -r requirements.txt'],
        ['tvm-1', 'pip install -r requirements.txt'],
      ],
    );
  });

  test("every variable of Batch AI's table is set, with Batch AI's paths", () => {
    const e = env(byTask(p, 'master'));
    for (const name of TABLE) assert.ok(e.has(name), `${name} missing`);
    assert.equal(e.get('AZ_BATCHAI_MOUNT_ROOT'), MOUNTS);
    assert.equal(e.get('AZ_BATCHAI_JOB_TEMP_DIR'), JOBS);
    assert.equal(e.get('AZ_BATCHAI_JOB_TEMP'), JOB_TEMP);
    assert.equal(e.get('AZ_BATCHAI_JOB_MOUNT_ROOT'), `${JOB_TEMP}/mounts`);
    assert.equal(e.get('AZ_BATCHAI_SHARED_JOB_TEMP'), `${JOB_TEMP}/shared`);
    assert.equal(e.get('AZ_BATCHAI_MPI_HOST_FILE'), `${JOB_TEMP}/hostfile`);
    assert.equal(e.get('AZ_BATCHAI_NUM_GPUS'), '4');
    assert.equal(e.get('AZ_BATCHAI_TASK_INDEX'), '0');
  });

  test('outputs and stdout/stderr are at {prefix}/{jobOutputDirectoryPathSegment}/{suffix}, inputs expanded', () => {
    const e = env(byTask(p, 'master'));
    assert.equal(e.get('AZ_BATCHAI_OUTPUT_MODEL'), `${JOB_TEMP}/mounts/logs/${SEGMENT}/models`);
    assert.equal(e.get('AZ_BATCHAI_STDOUTERR_DIR'), `${JOB_TEMP}/mounts/logs/${SEGMENT}/stdouterr`);
    assert.equal(e.get('AZ_BATCHAI_INPUT_DATA'), `${MOUNTS}/data/mnist`);
    assert.equal(byTask(p, 'master').stdOutErrDirectory, `${JOB_TEMP}/mounts/logs/${SEGMENT}/stdouterr`);
    assert.equal(
      p.preparation[1]?.stdOutErrDirectory,
      `${JOB_TEMP}/mounts/logs/${SEGMENT}/stdouterr/jobpreparation/tvm-1`,
    );
  });

  test('the same directories for every attempt (a requeued attempt finds its checkpoints)', () => {
    const again = planLaunch({ jobId: JOB_ID, uid: UID, attempt: 7, job, nodes: azureNodes(2, 4) });
    assert.ok(again.ok);
    assert.deepEqual(again.plan, p);
  });

  test('user variables: AZ_BATCHAI_* references expanded, others left for bash, ours win a clash', () => {
    const e = env(byTask(p, 'master'));
    assert.equal(e.get('CHECKPOINTS'), `${JOB_TEMP}/mounts/logs/${SEGMENT}/models/ckpt`);
    assert.equal(e.get('LEFT_FOR_BASH'), '$HOME/x');
    assert.equal(e.get('AZ_BATCHAI_MOUNT_ROOT'), MOUNTS);
    const names = byTask(p, 'master').environmentVariables.map((v) => v.name);
    assert.equal(new Set(names).size, names.length, 'a variable is set twice');
  });

  test('the MPI host file is delivered as a file of the task, at AZ_BATCHAI_MPI_HOST_FILE', () => {
    assert.deepEqual(byTask(p, 'master').files, [
      { path: 'hostfile', content: '10.0.0.4 slots=1\n10.0.0.5 slots=1\n' },
    ]);
  });

  test('secrets appear by name only: no secret value is anywhere in a plan', () => {
    const body = fullJob(marker);
    const full = assertAccepted(validateJobCreate(body));
    const planned = plan(full, azureNodes(2));
    assert.deepEqual(planned.tasks[0]?.secretNames, ['API_TOKEN', 'DB_PASSWORD']);
    const text = JSON.stringify(planned);
    for (const name of ['fileShareKey', 'blobKey', 'registryPassword', 'envSecret']) {
      assert.ok(!text.includes(marker(name)), `${name} leaked into the plan`);
    }
    assert.ok(JSON.stringify(body).includes(marker('envSecret')), 'the job did carry the secret');
  });

  test('a local node layout (the agent reports its own roots) is used as given', () => {
    const layout = { mountRoot: '/tmp/vm1/mnt/mounts/', jobsRoot: '/tmp/vm1/mnt/jobs' };
    const e = env(byTask(plan(job, localNodes(2, layout)), 'master'));
    assert.equal(e.get('AZ_BATCHAI_MOUNT_ROOT'), '/tmp/vm1/mnt/mounts');
    assert.equal(e.get('AZ_BATCHAI_JOB_TEMP'), `/tmp/vm1/mnt/jobs/demo_workspace/exp/train/${UID}`);
  });

  test('the wrong number of nodes is refused', () => {
    const result = planLaunch({ jobId: JOB_ID, uid: UID, attempt: 1, job, nodes: azureNodes(1) });
    assert.equal(result.ok ? undefined : result.error.code, 'InvalidAllocation');
  });
});

describe('launch plans per toolkit', () => {
  test('customMpi: mpirun on the master with the host file, exporting the job environment', () => {
    const p = plan(
      jobOf({ nodeCount: 2, customMpiSettings: { commandLine: 'hostname', processCount: 4 } }),
      azureNodes(2),
    );
    assert.equal(p.toolType, 'mpi');
    assert.equal(p.tasks.length, 1);
    const master = byTask(p, 'master');
    assert.match(master.commandLine, /^mpirun -np 4 --hostfile "\$AZ_BATCHAI_MPI_HOST_FILE" -x AZ_BATCHAI_MOUNT_ROOT /);
    assert.match(master.commandLine, / -x AZ_BATCHAI_STDOUTERR_DIR hostname$/);
    assert.equal(master.files[0]?.content, '10.0.0.4 slots=2\n10.0.0.5 slots=2\n');
  });

  test('horovod: mpirun of the python script, processCount defaulting to nodeCount', () => {
    const p = plan(
      jobOf({ nodeCount: 2, horovodSettings: { pythonScriptFilePath: '$AZ_BATCHAI_JOB_MOUNT_ROOT/scripts/hvd.py' } }),
      azureNodes(2),
    );
    assert.match(
      byTask(p, 'master').commandLine,
      /^mpirun -np 2 .* python "\$AZ_BATCHAI_JOB_MOUNT_ROOT\/scripts\/hvd.py"$/,
    );
  });

  test('pyTorch (gloo): one process per node, its rank in AZ_BATCHAI_TASK_INDEX, meeting at the master', () => {
    const job = jobOf({
      nodeCount: 2,
      pyTorchSettings: {
        pythonScriptFilePath: 'train.py',
        pythonInterpreterPath: '/usr/bin/python3',
        commandLineArgs: '--rank $AZ_BATCHAI_TASK_INDEX',
        communicationBackend: 'gloo',
      },
    });
    const p = plan(job, azureNodes(2));
    assert.deepEqual(
      p.tasks.map((t) => [t.nodeId, t.taskId, env(t).get('AZ_BATCHAI_TASK_INDEX'), t.commandLine]),
      [
        ['tvm-0', 'master', '0', '/usr/bin/python3 train.py --rank $AZ_BATCHAI_TASK_INDEX'],
        ['tvm-1', 'rank-1', '1', '/usr/bin/python3 train.py --rank $AZ_BATCHAI_TASK_INDEX'],
      ],
    );
    for (const t of p.tasks) {
      assert.equal(env(t).get('AZ_BATCHAI_PYTORCH_INIT_METHOD'), 'tcp://10.0.0.4:2222');
      assert.equal(env(t).get('AZ_BATCHAI_PYTORCH_BACKEND'), 'gloo');
      assert.equal(env(t).get('WORLD_SIZE'), '2');
    }
    assert.equal(byTask(p, 'rank-1').stdOutErrDirectory, `${JOB_TEMP}/mounts/logs/${SEGMENT}/stdouterr/rank-1`);
  });

  test('pyTorch (MPI backend): mpirun on the master', () => {
    const p = plan(
      jobOf({ nodeCount: 2, pyTorchSettings: { pythonScriptFilePath: 'train.py', communicationBackend: 'MPI' } }),
      azureNodes(2),
    );
    assert.equal(p.tasks.length, 1);
    assert.match(byTask(p, 'master').commandLine, /^mpirun -np 2 .* python train.py$/);
    assert.equal(env(byTask(p, 'master')).get('AZ_BATCHAI_PYTORCH_BACKEND'), 'mpi');
  });

  test("tensorFlow: Batch AI's documented layout of one parameter server and two workers on two nodes", () => {
    const job = jobOf({
      nodeCount: 2,
      tensorFlowSettings: {
        pythonScriptFilePath: 'mnist.py',
        masterCommandLineArgs: '--master',
        workerCommandLineArgs: '--worker',
        parameterServerCommandLineArgs: '--ps',
      },
    });
    const p = plan(job, azureNodes(2));
    assert.deepEqual(
      p.tasks.map((t) => [t.taskId, t.nodeId, env(t).get('AZ_BATCHAI_TASK_INDEX'), t.commandLine]),
      [
        ['ps-0', 'tvm-0', '0', 'python mnist.py --ps'],
        ['master', 'tvm-0', '0', 'python mnist.py --master'],
        ['worker-1', 'tvm-1', '1', 'python mnist.py --worker'],
      ],
    );
    const master = env(byTask(p, 'master'));
    assert.equal(master.get('AZ_BATCHAI_PS_HOSTS'), '10.0.0.4:2222');
    assert.equal(master.get('AZ_BATCHAI_WORKER_HOSTS'), '10.0.0.4:2223,10.0.0.5:2222');
    assert.deepEqual(JSON.parse(master.get('TF_CONFIG')!), {
      cluster: { ps: ['10.0.0.4:2222'], worker: ['10.0.0.4:2223', '10.0.0.5:2222'] },
      task: { type: 'master', index: 0 },
      environment: 'cloud',
    });
    assert.deepEqual(JSON.parse(env(byTask(p, 'worker-1')).get('TF_CONFIG')!).task, { type: 'worker', index: 1 });
    assert.deepEqual(JSON.parse(env(byTask(p, 'ps-0')).get('TF_CONFIG')!).task, { type: 'ps', index: 0 });
  });

  test('tensorFlow on one node with one worker: a plain process with the master arguments', () => {
    const p = plan(jobOf({ nodeCount: 1, tensorFlowSettings: { pythonScriptFilePath: 'k.py' } }), azureNodes(1));
    assert.deepEqual(
      p.tasks.map((t) => [t.taskId, t.commandLine, env(t).has('TF_CONFIG')]),
      [['master', 'python k.py', false]],
    );
  });

  test('cntk: BrainScript runs cntk with its config; Python with more than one process runs under mpirun', () => {
    const brain = plan(
      jobOf({ nodeCount: 1, cntkSettings: { configFilePath: 'cfg/ConvNet.cntk', commandLineArgs: 'x=1' } }),
      azureNodes(1),
    );
    assert.equal(byTask(brain, 'master').commandLine, 'cntk configFile=cfg/ConvNet.cntk x=1');
    const python = plan(
      jobOf({ nodeCount: 2, cntkSettings: { pythonScriptFilePath: 'conv.py', processCount: 4 } }),
      azureNodes(2),
    );
    assert.match(byTask(python, 'master').commandLine, /^mpirun -np 4 .* python conv.py$/);
  });

  test('chainer, caffe and caffe2', () => {
    const chainer = plan(jobOf({ nodeCount: 1, chainerSettings: { pythonScriptFilePath: 'c.py' } }), azureNodes(1));
    assert.equal(byTask(chainer, 'master').commandLine, 'python c.py');
    const chainerMn = plan(jobOf({ nodeCount: 2, chainerSettings: { pythonScriptFilePath: 'c.py' } }), azureNodes(2));
    assert.match(byTask(chainerMn, 'master').commandLine, /^mpirun -np 2 .* python c.py$/);
    const caffe = plan(jobOf({ nodeCount: 1, caffeSettings: { configFilePath: 'solver.prototxt' } }), azureNodes(1));
    assert.equal(byTask(caffe, 'master').commandLine, 'caffe train --solver=solver.prototxt');
    const caffe2 = plan(jobOf({ nodeCount: 2, caffe2Settings: { pythonScriptFilePath: 'r.py' } }), azureNodes(2));
    assert.deepEqual(
      caffe2.tasks.map((t) => [t.nodeId, env(t).get('AZ_BATCHAI_TASK_INDEX'), env(t).get('AZ_BATCHAI_NUM_TASKS')]),
      [
        ['tvm-0', '0', '2'],
        ['tvm-1', '1', '2'],
      ],
    );
  });
});

describe('rendezvous ports on one host', () => {
  const tf = (nodes: number, workers: number, ps: number) =>
    jobOf({
      nodeCount: nodes,
      tensorFlowSettings: { pythonScriptFilePath: 't.py', workerCount: workers, parameterServerCount: ps },
    });

  test('local nodes (all 127.0.0.1) meet on their own port blocks, so no two processes share a port', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 6 }),
        (n, w, ps) => {
          const result = planLaunch({
            jobId: JOB_ID,
            uid: UID,
            attempt: 1,
            job: tf(n, w, Math.min(ps, n)),
            nodes: localNodes(n),
          });
          assert.ok(result.ok);
          const first = env(result.plan.tasks[0]!);
          const endpoints = [
            ...(first.get('AZ_BATCHAI_PS_HOSTS')?.split(',') ?? []),
            ...(first.get('AZ_BATCHAI_WORKER_HOSTS')?.split(',') ?? []),
          ].filter((e) => e !== '');
          assert.equal(new Set(endpoints).size, endpoints.length, `a port is used twice: ${endpoints}`);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('the host file gives one line per address: OpenMPI refuses one host with two slot counts', () => {
    const mpi = jobOf({ nodeCount: 3, customMpiSettings: { commandLine: 'hostname', processCount: 6 } });
    const nodes = [...localNodes(2), { nodeId: 'remote', ipAddress: '10.0.0.9', port: 1, gpus: 0 }];
    assert.equal(plan(mpi, nodes).tasks[0]?.files[0]?.content, '127.0.0.1 slots=4\n10.0.0.9 slots=2\n');
  });

  test('nodes on one address with overlapping port blocks are refused with the reason, never given a clash', () => {
    const nodes = localNodes(2).map((n, i) => ({ ...n, rendezvousPort: 40000 + i }));
    const result = planLaunch({ jobId: JOB_ID, uid: UID, attempt: 1, job: tf(2, 2, 1), nodes });
    assert.equal(result.ok ? undefined : result.error.code, 'RendezvousPortConflict');
    assert.match(result.ok ? '' : result.error.message, /local-0 and local-1 share the address 127\.0\.0\.1/);
    // A job that meets nobody is not affected.
    const mpi = jobOf({ nodeCount: 2, customMpiSettings: { commandLine: 'hostname' } });
    assert.ok(planLaunch({ jobId: JOB_ID, uid: UID, attempt: 1, job: mpi, nodes }).ok);
  });
});

describe('plans are well formed for any toolkit (property)', () => {
  const toolkitSettings = fc.constantFrom<Record<string, unknown>>(
    { customToolkitSettings: { commandLine: 'true' } },
    { customMpiSettings: { commandLine: 'true' } },
    { horovodSettings: { pythonScriptFilePath: 'h.py' } },
    { pyTorchSettings: { pythonScriptFilePath: 'p.py', communicationBackend: 'Gloo' } },
    { pyTorchSettings: { pythonScriptFilePath: 'p.py', communicationBackend: 'MPI' } },
    { tensorFlowSettings: { pythonScriptFilePath: 't.py' } },
    { chainerSettings: { pythonScriptFilePath: 'c.py' } },
    { cntkSettings: { pythonScriptFilePath: 'n.py' } },
    { caffeSettings: { pythonScriptFilePath: 'f.py' } },
    { caffe2Settings: { pythonScriptFilePath: 'g.py' } },
  );
  test('unique task ids, tasks only on allocated nodes, the full table in every task, deterministic', () => {
    fc.assert(
      fc.property(toolkitSettings, fc.integer({ min: 1, max: 5 }), fc.boolean(), (settings, n, local) => {
        const job = jobOf({ nodeCount: n, ...settings, jobPreparation: { commandLine: 'true' } });
        const nodes = local ? localNodes(n) : azureNodes(n);
        const p = plan(job, nodes);
        const ids = [...p.tasks, ...p.preparation].map((t) => `${t.nodeId}/${t.taskId}`);
        assert.equal(new Set(p.tasks.map((t) => t.taskId)).size, p.tasks.length);
        assert.equal(new Set(ids).size, ids.length);
        assert.ok(
          p.tasks.some((t) => t.taskId === 'master' && t.nodeId === nodes[0]!.nodeId),
          'no master task',
        );
        assert.equal(p.preparation.length, n);
        for (const t of [...p.tasks, ...p.preparation]) {
          assert.ok(nodes.some((node) => node.nodeId === t.nodeId));
          const names = t.environmentVariables.map((v) => v.name);
          assert.equal(new Set(names).size, names.length, `duplicate variable in ${t.taskId}`);
          for (const name of TABLE) assert.ok(names.includes(name), `${name} missing in ${t.taskId}`);
        }
        assert.deepEqual(plan(job, nodes), p);
      }),
      { numRuns: 300 },
    );
  });
});

describe('containers and host execution', () => {
  const job = jobOf({
    nodeCount: 1,
    customToolkitSettings: { commandLine: 'true' },
    containerSettings: { imageSourceRegistry: { image: 'tensorflow/tensorflow:1.8.0-gpu' }, shmSize: '2g' },
  });

  test('a container job needs a container engine; a node without one fails preparation with the reason', () => {
    const p = plan(job, azureNodes(1));
    assert.deepEqual(p.execution, {
      mode: 'container',
      container: { image: 'tensorflow/tensorflow:1.8.0-gpu', shmSize: '2g' },
    });
    assert.equal(checkNodeCanRun(p, { nodeId: 'tvm-0', containerEngine: true }), undefined);
    const error = checkNodeCanRun(p, { nodeId: 'tvm-0', containerEngine: false });
    assert.equal(error?.code, 'ContainerEngineUnavailable');
    assert.match(error?.message ?? '', /tensorflow\/tensorflow:1\.8\.0-gpu.*no container engine.*host-execution/);
  });

  test('a cluster with the host-execution image runs it on the host and says the image was ignored', () => {
    const cluster = { virtualMachineConfiguration: { imageReference: { ...HOST_EXECUTION_IMAGE, version: 'latest' } } };
    assert.ok(clusterAllowsHostExecution(cluster));
    assert.ok(
      !clusterAllowsHostExecution({
        virtualMachineConfiguration: {
          imageReference: { publisher: 'Canonical', offer: 'UbuntuServer', sku: '16.04-LTS' },
        },
      }),
    );
    const p = plan(job, localNodes(1), clusterAllowsHostExecution(cluster));
    assert.deepEqual(p.execution, { mode: 'host' });
    assert.equal(p.containerIgnored?.image, 'tensorflow/tensorflow:1.8.0-gpu');
    assert.equal(checkNodeCanRun(p, { nodeId: 'local-0', containerEngine: false }), undefined);
  });
});

describe('planned commands run under bash as Batch AI ran them', () => {
  test('a script path with a space under $AZ_BATCHAI_JOB_MOUNT_ROOT, pythonInterpreterPath, args and outputs', () => {
    const root = mkdtempSync(join(tmpdir(), 'launch-plan-'));
    try {
      const layout = { mountRoot: join(root, 'mounts'), jobsRoot: join(root, 'jobs') };
      const job = jobOf({
        nodeCount: 1,
        chainerSettings: {
          pythonScriptFilePath: '$AZ_BATCHAI_JOB_MOUNT_ROOT/my scripts/print.py',
          pythonInterpreterPath: '/usr/bin/python3',
          commandLineArgs: '--out $AZ_BATCHAI_OUTPUT_MODEL "two words"',
        },
        outputDirectories: [{ id: 'MODEL', pathPrefix: '$AZ_BATCHAI_JOB_MOUNT_ROOT/logs' }],
      });
      const [task] = plan(job, localNodes(1, layout)).tasks;
      assert.ok(task);
      const e = env(task);
      const scripts = join(e.get('AZ_BATCHAI_JOB_MOUNT_ROOT')!, 'my scripts');
      mkdirSync(scripts, { recursive: true });
      mkdirSync(task.workingDirectory, { recursive: true });
      writeFileSync(join(scripts, 'print.py'), 'import sys, os\nprint(repr(sys.argv[1:]))\n');
      const run = spawnSync('bash', ['-c', task.commandLine], {
        cwd: task.workingDirectory,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...Object.fromEntries(e) },
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), `['--out', '${e.get('AZ_BATCHAI_OUTPUT_MODEL')}', 'two words']`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('runTask commands', () => {
  test('a planned task becomes a valid runTask command with its sealed secrets; an unsealed secret is an error', () => {
    const full = assertAccepted(validateJobCreate(fullJob(marker)));
    const [task] = plan(full, azureNodes(2)).tasks;
    assert.ok(task);
    const sealed = new Map(
      task.secretNames.map((name) => [
        name,
        { alg: SEALED_FOR_NODE_ALG, epk: 'e', iv: 'i', ct: `ct-${name}` } as const,
      ]),
    );
    const command = runTaskCommand(task, { jobId: 'job-1', attempt: 2, bootId: 'boot', commandId: 'c1' }, sealed);
    const parsed = agentCommandSchema.parse(JSON.parse(JSON.stringify(command)));
    assert.equal(parsed.kind, 'runTask');
    assert.deepEqual(
      command.secrets.map((s) => [s.name, s.value.ct]),
      [
        ['API_TOKEN', 'ct-API_TOKEN'],
        ['DB_PASSWORD', 'ct-DB_PASSWORD'],
      ],
    );
    assert.deepEqual(command.files, task.files);
    sealed.delete('DB_PASSWORD');
    assert.throws(
      () => runTaskCommand(task, { jobId: 'j', attempt: 1, bootId: 'b', commandId: 'c' }, sealed),
      /DB_PASSWORD/,
    );
  });
});

describe('job mounts', () => {
  const full = assertAccepted(validateJobCreate(fullJob(marker)));
  const context = {
    blobEndpoint: (account: string) => `http://127.0.0.1:10000/${account}/`,
    fileServer: (id: string) =>
      id === FILE_SERVER_ID ? { serverAddress: '10.0.0.9', exportPath: '/mnt/data' } : undefined,
  };

  test('every kind of mount becomes an agent mount spec; keys are referenced, never copied', () => {
    const result = planMounts(full.mountVolumes, context);
    if (!result.ok) assert.fail(result.error.message);
    assert.deepEqual(
      result.mounts.map((m) => [m.spec.kind, m.spec.relativeMountPath, m.keyFrom?.list, m.keyFrom?.index]),
      [
        ['azureFiles', 'afs', 'azureFileShares', 0],
        ['azureBlob', 'blob', 'azureBlobFileSystems', 0],
        ['azureBlob', 'blob2', 'azureBlobFileSystems', 1],
        ['fileServer', 'nfs', undefined, undefined],
        ['unmanaged', 'unmanaged', undefined, undefined],
      ],
    );
    const blob = result.mounts[1]?.spec;
    assert.deepEqual(blob, {
      kind: 'azureBlob',
      relativeMountPath: 'blob',
      accountName: 'acct',
      containerName: 'data',
      blobEndpoint: 'http://127.0.0.1:10000/acct/',
      mountOptions: '-o attr_timeout=240',
    });
    assert.ok(!JSON.stringify(result).includes(marker('blobKey')));
    assert.ok(!JSON.stringify(result).includes(marker('fileShareKey')));
  });

  test('a missing file server fails preparation with the reason', () => {
    const result = planMounts(full.mountVolumes, { ...context, fileServer: () => undefined });
    assert.equal(result.ok ? undefined : result.error.code, 'FileServerUnavailable');
  });
});
