import { MPI_ENVIRONMENT } from './mpi.js';
import { pythonCommand } from './python.js';
import type { ToolkitPlanner } from './types.js';

// pyTorchSettings. With the TCP or Gloo backend, one process per node: each gets its rank in AZ_BATCHAI_TASK_INDEX
// and meets the others at AZ_BATCHAI_PYTORCH_INIT_METHOD (tcp://<master>:<port>, the master node's first rendezvous
// port). The same rendezvous is also given in torch's env:// form (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK) so
// scripts written either way work. With the MPI backend, mpirun on the master starts processCount ranks and
// torch.distributed learns rank and size from MPI itself.
export const planPyTorch: ToolkitPlanner = ({ job, nodes, endpoint, mpirun }) => {
  const settings = job.pyTorchSettings!;
  const backend = (settings.communicationBackend ?? 'Gloo').toLowerCase();
  const command = pythonCommand(settings, settings.commandLineArgs);
  if (backend === 'mpi') {
    const processCount = settings.processCount ?? job.nodeCount;
    return [
      {
        nodeIndex: 0,
        taskId: 'master',
        taskIndex: 0,
        commandLine: `${mpirun(processCount)} ${command}`,
        environment: [
          ...MPI_ENVIRONMENT,
          { name: 'AZ_BATCHAI_PYTORCH_BACKEND', value: 'mpi' },
          { name: 'AZ_BATCHAI_PYTORCH_INIT_METHOD', value: 'env://' },
        ],
      },
    ];
  }
  const master = endpoint(0, 0);
  if ('code' in master) return master;
  const worldSize = nodes.length;
  return nodes.map((_, rank) => ({
    nodeIndex: rank,
    taskId: rank === 0 ? 'master' : `rank-${rank}`,
    taskIndex: rank,
    commandLine: command,
    environment: [
      { name: 'AZ_BATCHAI_PYTORCH_BACKEND', value: backend },
      { name: 'AZ_BATCHAI_PYTORCH_INIT_METHOD', value: `tcp://${master.host}:${master.port}` },
      { name: 'AZ_BATCHAI_PYTORCH_WORLD_SIZE', value: String(worldSize) },
      { name: 'MASTER_ADDR', value: master.host },
      { name: 'MASTER_PORT', value: String(master.port) },
      { name: 'WORLD_SIZE', value: String(worldSize) },
      { name: 'RANK', value: String(rank) },
    ],
  }));
};
