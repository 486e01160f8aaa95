import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Starts `bash -c <commandLine>`: the user's command line reaches bash as one argv element, never spliced into a
 * shell string of ours. Detached, so the process gets its own process group and a kill reaches everything it
 * started. stdout/stderr go straight to files (appended), so output does not pass through the agent.
 */
export function spawnBash(
  commandLine: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; stdoutPath: string; stderrPath: string },
): ChildProcess {
  return spawnLogged('bash', ['-c', commandLine], options);
}

// The group leader starts a watchdog in its own process group, then execs the program (so the program keeps the
// leader's pid and its exit status is the task's). The watchdog blocks reading fd 3, a socket whose other end only
// the agent holds: when the agent dies in any way (even SIGKILL, a "host crash"), the read ends and the watchdog
// kills the whole group, so no task outlives its agent. fd 3 is closed before the program runs.
const WATCHDOG = '( read -r _ <&3; kill -KILL 0 ) & exec 3<&-; exec "$@"';

/** Any program, detached in its own process group tied to the agent's life, stdout/stderr appended to files. */
export function spawnLogged(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; stdoutPath: string; stderrPath: string },
): ChildProcess {
  const out = openSync(options.stdoutPath, 'a');
  const err = openSync(options.stderrPath, 'a');
  try {
    const child = spawn('bash', ['-c', WATCHDOG, 'batchai-task', file, ...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', out, err, 'pipe'],
      detached: true,
    });
    // The agent never writes to the lifeline; it must not keep the agent's event loop alive either.
    const lifeline = child.stdio[3] as (NodeJS.ReadableStream & { unref?: () => void }) | null;
    lifeline?.on('error', () => {});
    lifeline?.unref?.();
    return child;
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

export interface Exit {
  exitCode: number | null;
  signal: string | null;
  /** Set when the process could not be started at all (e.g. bash missing, working directory unusable). */
  spawnError?: string;
}

export function waitForExit(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    child.once('error', (err) => resolve({ exitCode: null, signal: null, spawnError: err.message }));
    child.once('exit', (code, signal) => resolve({ exitCode: code, signal }));
  });
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The last `bytes` of a file as text (the tail of stderr in an error's details). */
export async function tailOf(path: string, bytes = 2048): Promise<string> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - bytes);
      const buf = Buffer.alloc(size - start);
      await handle.read(buf, 0, buf.length, start);
      return buf.toString('utf8').trimEnd();
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/** The start time of a process (field 22 of /proc/<pid>/stat): tells a recorded pid from a reused one. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
