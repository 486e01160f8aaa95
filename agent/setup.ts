import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentCommand } from '../shared/domain/agent-protocol.js';
import { errorText, log } from './log.js';
import type { MountContext } from './mounts/mount-context.js';
import { MountError } from './mounts/mount-context.js';
import { mountVolume } from './mounts/mount-volume.js';
import { spawnBash, tailOf, waitForExit } from './run-process.js';
import { resolveNodePath, taskEnvironment } from './task-env.js';

type SetupCommand = Extract<AgentCommand, { kind: 'setup' }>;
export interface BatchAiError {
  code: string;
  message: string;
  details?: Array<{ name: string; value: string }>;
}

/**
 * A node's setup: the cluster's mounts under $AZ_BATCHAI_MOUNT_ROOT, then its setup task. Returns undefined on
 * success, or Batch AI's error saying what failed and why (MountFailed / SetupTaskFailed).
 */
export async function runSetup(command: SetupCommand, ctx: MountContext): Promise<BatchAiError | undefined> {
  for (const mount of command.mounts) {
    try {
      const path = await mountVolume(mount, ctx);
      log.info('mounted', { kind: mount.kind, path });
    } catch (err) {
      if (err instanceof MountError) return { code: 'MountFailed', message: err.message, details: err.details };
      return {
        code: 'MountFailed',
        message: `Mounting ${mount.kind} volume at $AZ_BATCHAI_MOUNT_ROOT/${mount.relativeMountPath} failed: ${errorText(err)}`,
        details: [{ name: 'relativeMountPath', value: mount.relativeMountPath }],
      };
    }
  }
  const task = command.setupTask;
  if (!task) return undefined;
  let env: NodeJS.ProcessEnv;
  try {
    env = taskEnvironment(ctx.env, ctx.paths, task.environmentVariables, task.secrets, ctx.open);
  } catch (err) {
    return { code: 'SetupTaskFailed', message: `The setup task's secrets could not be opened: ${errorText(err)}` };
  }
  const dir = resolveNodePath(task.stdOutErrDirectory, env, ctx.paths);
  const stdoutPath = join(dir, 'stdout.txt');
  const stderrPath = join(dir, 'stderr.txt');
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    return {
      code: 'SetupTaskFailed',
      message: `The setup task's output directory ${dir} cannot be created: ${errorText(err)}`,
      details: [{ name: 'stdOutErrDirectory', value: dir }],
    };
  }
  const cwd = ctx.paths.real('/mnt/batch/tasks/startup/wd');
  await mkdir(cwd, { recursive: true });
  log.info('setup task started', { stdOutErrDirectory: dir });
  const exit = await waitForExit(spawnBash(task.commandLine, { cwd, env, stdoutPath, stderrPath }));
  if (exit.exitCode === 0) return undefined;
  const stderr = await tailOf(stderrPath);
  const how = exit.spawnError
    ? `could not start (${exit.spawnError})`
    : exit.exitCode !== null
      ? `exited with code ${exit.exitCode}`
      : `was killed by ${exit.signal}`;
  const lastLine = stderr.split('\n').filter(Boolean).pop();
  return {
    code: 'SetupTaskFailed',
    message: `The setup task ${how}${lastLine ? `: ${lastLine}` : ''}. Its output is in ${dir}.`,
    details: [
      { name: 'exitCode', value: String(exit.exitCode ?? exit.signal ?? exit.spawnError) },
      { name: 'stdOutErrDirectory', value: dir },
      { name: 'stderr', value: stderr },
    ],
  };
}
