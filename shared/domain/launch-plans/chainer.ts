import { MPI_ENVIRONMENT } from './mpi.js';
import { pythonCommand } from './python.js';
import type { ToolkitPlanner } from './types.js';

// chainerSettings: one process runs the script on the master node; several processes (ChainerMN) are mpirun ranks.
export const planChainer: ToolkitPlanner = ({ job, mpirun }) => {
  const s = job.chainerSettings!;
  const processCount = s.processCount ?? job.nodeCount;
  const command = pythonCommand(s, s.commandLineArgs);
  return [
    processCount > 1
      ? {
          nodeIndex: 0,
          taskId: 'master',
          taskIndex: 0,
          commandLine: `${mpirun(processCount)} ${command}`,
          environment: [...MPI_ENVIRONMENT],
        }
      : { nodeIndex: 0, taskId: 'master', taskIndex: 0, commandLine: command, environment: [] },
  ];
};
