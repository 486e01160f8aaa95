// The agent checks commands and its boot configuration by hand (it does not load zod); these tests hold its
// verdicts to the contract's zod schemas on valid messages and on every single-field mutation of them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkBootConfig } from '../../../agent/boot-config.js';
import { parseCommand } from '../../../agent/validate-command.js';
import { agentBootConfigSchema } from '../../../shared/domain/agent-bootstrap.js';
import { parseAgentCommand } from '../../../shared/domain/agent-protocol.js';

const sealed = { alg: 'X25519-HKDF-SHA256-A256GCM', epk: 'e', iv: 'i', ct: 'c' };
const base = { v: 1, bootId: 'b', commandId: 'c' };
const valid: object[] = [
  {
    ...base,
    kind: 'setup',
    setupId: 's',
    mounts: [
      {
        kind: 'azureBlob',
        relativeMountPath: 'b',
        accountName: 'a',
        containerName: 'c',
        blobEndpoint: 'http://x',
        accountKey: sealed,
        mountOptions: '-o ro',
      },
      { kind: 'azureBlob', relativeMountPath: 'b', accountName: 'a', containerName: 'c', blobEndpoint: 'http://x' },
      {
        kind: 'azureFiles',
        relativeMountPath: 'f',
        accountName: 'a',
        azureFileUrl: 'https://a/s',
        accountKey: sealed,
        fileMode: '0777',
        directoryMode: '0777',
      },
      {
        kind: 'fileServer',
        relativeMountPath: 'n',
        serverAddress: '10.0.0.4',
        exportPath: '/data',
        sourceDirectory: 'x',
        mountOptions: 'rw',
      },
      { kind: 'unmanaged', relativeMountPath: 'u', mountCommand: 'mount x' },
    ],
    setupTask: {
      commandLine: 'echo',
      runElevated: true,
      environmentVariables: [{ name: 'A', value: '1' }],
      secrets: [{ name: 'S', value: sealed }],
      stdOutErrDirectory: '$AZ_BATCHAI_MOUNT_ROOT/x',
    },
  },
  { ...base, kind: 'setup', setupId: 's', mounts: [] },
  {
    ...base,
    kind: 'runTask',
    jobId: 'j',
    attempt: 2,
    taskId: '0',
    commandLine: 'python train.py',
    workingDirectory: '/wd',
    environmentVariables: [],
    secrets: [{ name: 'S', value: sealed }],
    stdOutErrDirectory: '/o',
    files: [{ path: 'hostfile', content: 'h' }],
    container: { image: 'pytorch/pytorch:1.0', serverUrl: 'r.io', username: 'u', password: sealed, shmSize: '2g' },
    mounts: [
      {
        kind: 'azureBlob',
        relativeMountPath: 'b',
        accountName: 'a',
        containerName: 'c',
        blobEndpoint: 'http://x',
        accountKey: sealed,
      },
      { kind: 'unmanaged', relativeMountPath: 'u', mountCommand: 'mount x' },
    ],
  },
  {
    ...base,
    kind: 'runTask',
    jobId: 'j',
    attempt: 1,
    taskId: '0',
    commandLine: 'x',
    workingDirectory: '/',
    environmentVariables: [],
    secrets: [],
    stdOutErrDirectory: '/o',
  },
  {
    ...base,
    kind: 'runTask',
    jobId: 'j',
    attempt: 1,
    taskId: 'u2.master',
    commandLine: 'x',
    workingDirectory: '/',
    environmentVariables: [],
    secrets: [],
    stdOutErrDirectory: '/o',
    after: ['u1.master', 'u1.rank-1'],
  },
  { ...base, kind: 'killTask', jobId: 'j', attempt: 1, taskId: '0' },
  { ...base, kind: 'startStaged', jobId: 'j', attempt: 1, taskId: 'u2.master' },
  { ...base, kind: 'unstageTask', jobId: 'j', attempt: 1, taskId: 'u2.master', kill: true },
  { ...base, kind: 'unstageTask', jobId: 'j', attempt: 3, taskId: 'u2.master', kill: false },
];

const replacements: unknown[] = [undefined, null, 1, 1.5, 'x', true, [], {}, { alg: 'none' }];

/** Copies of `value`, each with one field removed, replaced by a value of another type, or an unknown key added. */
function* mutations(value: unknown): Generator<unknown> {
  const json = JSON.stringify(value);
  const paths: Array<Array<string | number>> = [];
  const walk = (v: unknown, path: Array<string | number>) => {
    if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const p = [...path, Array.isArray(v) ? Number(k) : k];
        paths.push(p);
        walk(child, p);
      }
    }
  };
  walk(value, []);
  for (const path of paths) {
    for (const r of replacements) {
      const copy = JSON.parse(json);
      let target = copy;
      for (const k of path.slice(0, -1)) target = target[k];
      const last = path[path.length - 1] as string | number;
      if (r === undefined) {
        if (Array.isArray(target)) target.splice(last as number, 1);
        else delete target[last];
      } else target[last] = r;
      yield copy;
    }
    const copy = JSON.parse(json);
    let target = copy;
    for (const k of path.slice(0, -1)) target = target[k];
    if (target && typeof target === 'object' && !Array.isArray(target)) {
      target.unexpected = 'x';
      yield copy;
    }
  }
}

test('the agent accepts exactly the commands the contract accepts', () => {
  let checked = 0;
  for (const command of valid) {
    const text = JSON.stringify(command);
    assert.equal(parseAgentCommand(text).ok, true, `the fixture is valid: ${text}`);
    assert.equal(parseCommand(text).ok, true, text);
    for (const mutated of mutations(command)) {
      const t = JSON.stringify(mutated);
      assert.equal(parseCommand(t).ok, parseAgentCommand(t).ok, `verdicts differ on ${t}`);
      checked++;
    }
  }
  assert.ok(checked > 500, `${checked} mutations checked`);
  for (const t of ['', 'null', '[]', '{}', '{"kind":"nope"}', 'not json']) {
    assert.equal(parseCommand(t).ok, false, t);
    assert.equal(parseAgentCommand(t).ok, false, t);
  }
});

test('a runTask without files gets files: [] as the schema default gives', () => {
  const text = JSON.stringify(valid[3]);
  const mine = parseCommand(text);
  const theirs = parseAgentCommand(text);
  assert.ok(mine.ok && theirs.ok);
  assert.deepEqual(mine.value, theirs.value);
});

test('the agent accepts exactly the boot configurations the contract accepts', () => {
  const configs = [
    {
      v: 1,
      role: 'fileServer',
      resourceId: '/r',
      scaleSetName: 's',
      queueEndpoint: 'http://q',
      blobEndpoint: 'http://b',
      identityClientId: 'id',
      heartbeatIntervalMs: 1000,
      mountRoot: '/mnt',
      fileServer: { diskCount: 2, exportPath: '/data' },
    },
    {
      v: 1,
      role: 'clusterNode',
      resourceId: '/r',
      scaleSetName: 's',
      queueEndpoint: 'q',
      blobEndpoint: 'b',
      heartbeatIntervalMs: 5,
      mountRoot: '/m',
    },
  ];
  for (const config of configs) {
    assert.equal(checkBootConfig(config), undefined);
    for (const mutated of mutations(config)) {
      assert.equal(
        checkBootConfig(mutated) === undefined,
        agentBootConfigSchema.safeParse(mutated).success,
        `verdicts differ on ${JSON.stringify(mutated)}`,
      );
    }
  }
});
