import { AGENT_PROTOCOL_VERSION, type AgentCommand, type SealedForNode } from '../agent-protocol.js';
import type { PlannedTask } from './types.js';

/**
 * The `runTask` command for one planned task, addressed to one boot of its node. `sealed` holds the task's secret
 * values already sealed for that boot (sealForNode); a secret the plan names but `sealed` lacks is an error, never a
 * silently missing variable.
 */
export function runTaskCommand(
  task: PlannedTask,
  to: { jobId: string; attempt: number; bootId: string; commandId: string },
  sealed: ReadonlyMap<string, SealedForNode>,
): Extract<AgentCommand, { kind: 'runTask' }> {
  const secrets = task.secretNames.map((name) => {
    const value = sealed.get(name);
    if (value === undefined) throw new Error(`the secret ${name} of task ${task.taskId} was not sealed for its node`);
    return { name, value };
  });
  return {
    v: AGENT_PROTOCOL_VERSION,
    kind: 'runTask',
    bootId: to.bootId,
    commandId: to.commandId,
    jobId: to.jobId,
    attempt: to.attempt,
    taskId: task.taskId,
    commandLine: task.commandLine,
    workingDirectory: task.workingDirectory,
    environmentVariables: task.environmentVariables.map((v) => ({ name: v.name, value: v.value })),
    secrets,
    stdOutErrDirectory: task.stdOutErrDirectory,
    files: task.files.map((f) => ({ path: f.path, content: f.content })),
  };
}
