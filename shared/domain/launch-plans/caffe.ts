import { MPI_ENVIRONMENT } from './mpi.js';
import { pythonCommand } from './python.js';
import type { ToolkitPlanner } from './types.js';
import { shellWord, withArgs } from './variables.js';

// caffeSettings: a solver config runs `caffe train --solver=<config> <args>`; a Python script runs with the
// interpreter. More than one process runs under mpirun on the master (the MPI builds of Caffe).
export const planCaffe: ToolkitPlanner = ({ job, mpirun }) => {
  const s = job.caffeSettings!;
  const processCount = s.processCount ?? job.nodeCount;
  const command =
    s.configFilePath !== undefined
      ? withArgs(`caffe train --solver=${shellWord(s.configFilePath)}`, s.commandLineArgs)
      : pythonCommand({ ...s, pythonScriptFilePath: s.pythonScriptFilePath! }, s.commandLineArgs);
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
