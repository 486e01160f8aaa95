import { MPI_ENVIRONMENT } from './mpi.js';
import { pythonCommand } from './python.js';
import type { ToolkitPlanner } from './types.js';

// horovodSettings: Horovod is started by mpirun on the master node, processCount ranks over the job's nodes.
export const planHorovod: ToolkitPlanner = ({ job, mpirun }) => {
  const settings = job.horovodSettings!;
  const processCount = settings.processCount ?? job.nodeCount;
  return [
    {
      nodeIndex: 0,
      taskId: 'master',
      taskIndex: 0,
      commandLine: `${mpirun(processCount)} ${pythonCommand(settings, settings.commandLineArgs)}`,
      environment: [...MPI_ENVIRONMENT],
    },
  ];
};
