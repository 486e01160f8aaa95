import { MPI_ENVIRONMENT } from './mpi.js';
import type { ToolkitPlanner } from './types.js';

// customMpiSettings: mpirun on the master node starts processCount copies of the command line over the job's nodes.
export const planCustomMpi: ToolkitPlanner = ({ job, mpirun }) => {
  const settings = job.customMpiSettings!;
  const processCount = settings.processCount ?? job.nodeCount;
  return [
    {
      nodeIndex: 0,
      taskId: 'master',
      taskIndex: 0,
      commandLine: `${mpirun(processCount)} ${settings.commandLine}`,
      environment: [...MPI_ENVIRONMENT],
    },
  ];
};
