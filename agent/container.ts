import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ContainerSpec } from '../shared/domain/agent-protocol.js';

// Jobs with containerSettings run in Docker, as on Batch AI: the same mounts at the same paths, the task's
// variables passed by name (`-e NAME`, the value taken from docker's own environment, so secrets are never on a
// command line), host networking (framework rendezvous uses the node's address), GPUs when the node has them.

let engine: Promise<string | undefined> | undefined;

/** Why this node cannot run containers, or undefined when it can (checked once per boot). */
export function containerEngineProblem(): Promise<string | undefined> {
  // No daemon socket and no DOCKER_HOST: say so without starting the docker CLI (every agent asks at boot, and a
  // local cluster boots dozens at once).
  if (!engine && !process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) {
    engine = Promise.resolve('no Docker daemon: /var/run/docker.sock does not exist and DOCKER_HOST is not set');
  }
  engine ??= new Promise((resolve) => {
    execFile('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 15_000 }, (err, _out, stderr) => {
      if (!err) return resolve(undefined);
      const why =
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'docker is not installed' : stderr.trim() || err.message;
      resolve(why.split('\n').filter(Boolean).pop());
    });
  });
  return engine;
}

/** docker login with the password on stdin; resolves to an error message or undefined. */
export function registryLogin(spec: ContainerSpec, password: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const args = [
      'login',
      '--username',
      spec.username ?? '',
      '--password-stdin',
      ...(spec.serverUrl ? [spec.serverUrl] : []),
    ];
    const child = spawn('docker', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', (err) => resolve(err.message));
    child.once('close', (code) =>
      resolve(code === 0 ? undefined : stderr.trim() || `docker login exited with ${code}`),
    );
    child.stdin.end(password);
  });
}

export function containerName(ref: { jobId: string; attempt: number; taskId: string }, bootId: string): string {
  const job = ref.jobId.split('/').pop() ?? ref.jobId;
  return `batchai-${job}-${ref.attempt}-${ref.taskId}-${bootId.slice(0, 8)}`
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .slice(0, 120);
}

export function dockerRunArgs(options: {
  spec: ContainerSpec;
  name: string;
  cwd: string;
  binds: string[];
  envNames: string[];
  gpus: number;
  commandLine: string;
}): string[] {
  const { spec } = options;
  // A bare image name of a private registry is pulled from that registry, as Batch AI did.
  const image =
    spec.serverUrl && !spec.image.startsWith(`${spec.serverUrl}/`) ? `${spec.serverUrl}/${spec.image}` : spec.image;
  return [
    'run',
    '--rm',
    '--name',
    options.name,
    '--network',
    'host',
    ...(spec.shmSize ? ['--shm-size', spec.shmSize] : []),
    ...(options.gpus > 0 ? ['--gpus', 'all'] : []),
    ...[...new Set(options.binds)].flatMap((b) => ['-v', `${b}:${b}`]),
    '-w',
    options.cwd,
    ...options.envNames.flatMap((n) => ['-e', n]),
    image,
    'bash',
    '-c',
    options.commandLine,
  ];
}

export function killContainer(name: string): void {
  execFile('docker', ['kill', name], () => {});
}
