import type { SealedForNode } from '../shared/domain/agent-protocol.js';
import { LOCAL_VM_ENV } from '../shared/domain/agent-wire.js';
import { expandVars } from './expand-vars.js';
import type { NodePaths } from './node-paths.js';

/**
 * The node's own variables, present in every task and mount command. The agent's environment is inherited except
 * the local stand-in for the VM's managed identity (a storage key a task must not see).
 */
export function nodeEnvironment(paths: NodePaths, gpus: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env[LOCAL_VM_ENV.storageConnectionString];
  delete env.NODE_CHANNEL_FD;
  delete env.NODE_CHANNEL_SERIALIZATION_MODE;
  env.AZ_BATCHAI_MOUNT_ROOT = paths.mountRoot;
  env.AZ_BATCHAI_JOB_TEMP_DIR = paths.jobTempRoot;
  env.AZ_BATCHAI_NUM_GPUS = String(gpus);
  return env;
}

/**
 * A task's environment: the node's, then the command's variables in order (each may reference `$NAME` of the node
 * or of an earlier variable; an absolute /mnt/batch/… value is a node path and is rebased locally), then the
 * secrets, opened for this boot only. The result never goes to a log.
 */
export function taskEnvironment(
  base: NodeJS.ProcessEnv,
  paths: NodePaths,
  variables: Array<{ name: string; value: string }>,
  secrets: Array<{ name: string; value: SealedForNode }>,
  open: (sealed: SealedForNode) => string,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const { name, value } of variables) {
    const expanded = expandVars(value, (n) => env[n]);
    env[name] = expanded.startsWith('/mnt/batch/') ? paths.real(expanded) : expanded;
  }
  for (const { name, value } of secrets) env[name] = open(value);
  return env;
}

/** A path of a command (stdOutErrDirectory, workingDirectory): `$VAR`s expanded, then as a real path. */
export function resolveNodePath(path: string, env: NodeJS.ProcessEnv, paths: NodePaths): string {
  return paths.real(expandVars(path, (n) => env[n]));
}
