import { MPI_ENVIRONMENT } from './mpi.js';
import { pythonCommand } from './python.js';
import type { ToolkitPlanner } from './types.js';
import { shellWord, withArgs } from './variables.js';

// cntkSettings: BrainScript runs `cntk configFile=<config> <args>`, Python runs the script. With more than one
// process, mpirun on the master starts them as ranks (CNTK's distributed training is MPI-based).
export const planCntk: ToolkitPlanner = ({ job, mpirun }) => {
  const s = job.cntkSettings!;
  const processCount = s.processCount ?? job.nodeCount;
  const command =
    s.languageType === 'BrainScript'
      ? withArgs(`cntk configFile=${shellWord(s.configFilePath!)}`, s.commandLineArgs)
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
