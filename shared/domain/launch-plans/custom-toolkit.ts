import type { ToolkitPlanner } from './types.js';

// customToolkitSettings: the command line runs once, on the master node ("The command line to execute on the master
// node"). The other nodes are allocated (and prepared) but run nothing. The spec lets commandLine be absent: then
// there is nothing to run and the job succeeds once prepared, which is `true`.
export const planCustomToolkit: ToolkitPlanner = ({ job }) => [
  {
    nodeIndex: 0,
    taskId: 'master',
    taskIndex: 0,
    commandLine: job.customToolkitSettings?.commandLine?.trim() || 'true',
    environment: [],
  },
];
