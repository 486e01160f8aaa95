// Test harness for the local Functions host: runs dist/local/functions-host/main.js as a real child
// process (the way the stack supervisor does) on a free port, against Azurite from the shared test stack.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KeysFile } from '../../../local/functions-host/keys.js';
import { freePort } from '../../../local/stack/ports.js';
import { startTestStack, type TestStack } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';

export { waitFor };

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const fixtureApp = join(repoRoot, 'test/fixtures/host-app');
export const badBindingApp = join(repoRoot, 'test/fixtures/host-app-bad-binding');
export const hostMain = fileURLToPath(new URL('../../../local/functions-host/main.js', import.meta.url));

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `fh-${prefix}-`));
}

export interface HostProcess {
  child: ChildProcess;
  baseUrl: string;
  port: number;
  dataDir: string;
  keys: KeysFile;
  /** stdout + stderr so far. */
  output(): string;
  /** stdout only. */
  stdout(): string;
  /** JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface SpawnResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnHost(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [hostMain, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return { child, output: () => out, stdout: () => stdout };
}

/** Runs the host to completion (for start failures). */
export async function runHostExpectingExit(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000) {
  const child = spawn(process.execPath, [hostMain, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr } satisfies SpawnResult;
}

export async function startHost(options: {
  appDir?: string;
  dataDir?: string;
  env: NodeJS.ProcessEnv;
  durable?: boolean;
  /** Azurite's --location, passed as --azurite-location. */
  azuriteLocation?: string;
}): Promise<HostProcess> {
  const port = await freePort();
  const dataDir = options.dataDir ?? (await tempDir('data'));
  const args = ['--app', options.appDir ?? fixtureApp, '--port', String(port), '--data-dir', dataDir];
  if (!options.durable) args.push('--no-durable');
  if (options.azuriteLocation) args.push('--azurite-location', options.azuriteLocation);
  const { child, output, stdout } = spawnHost(args, options.env);
  const baseUrl = `http://127.0.0.1:${port}`;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  try {
    await waitFor('the host to report Running', async () => {
      if (exited) throw new Error(`the host exited during start:\n${output()}`);
      try {
        // The status endpoint needs the master key (as on Azure); the host writes it to keys.json first.
        const { masterKey } = JSON.parse(await readFile(join(dataDir, 'keys.json'), 'utf8')) as KeysFile;
        const res = await fetch(`${baseUrl}/admin/host/status`, { headers: { 'x-functions-key': masterKey } });
        const body = (await res.json()) as { state?: string };
        return res.status === 200 && body.state === 'Running';
      } catch {
        return false;
      }
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const keys = JSON.parse(await readFile(join(dataDir, 'keys.json'), 'utf8')) as KeysFile;
  return {
    child,
    baseUrl,
    port,
    dataDir,
    keys,
    output,
    stdout,
    logs: () =>
      output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async stop() {
      if (exited) return child.exitCode;
      const done = once(child, 'exit') as Promise<[number | null]>;
      child.kill('SIGTERM');
      const [code] = await done;
      return code;
    },
  };
}

/**
 * One Azurite stack and one host on the fixture app for a whole test file, started before its tests and
 * stopped after them. Read `stack` and `host` inside tests (they are set once `before` has run).
 */
export function hostOnAzuriteForFile(): { readonly stack: TestStack; readonly host: HostProcess } {
  const state: { stack?: TestStack; host?: HostProcess } = {};
  before(async () => {
    state.stack = await startTestStack({ services: ['azurite'] });
    state.host = await startHost({ env: { AzureWebJobsStorage: state.stack.descriptor.storage.connectionString } });
  });
  after(async () => {
    await state.host?.stop();
    await state.stack?.dispose();
  });
  return {
    get stack() {
      if (!state.stack) throw new Error('the stack starts in before()');
      return state.stack;
    },
    get host() {
      if (!state.host) throw new Error('the host starts in before()');
      return state.host;
    },
  };
}
