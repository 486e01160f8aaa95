import type { AllocatedNode } from './types.js';
import { shellWord } from './variables.js';

// Toolkits that start their processes with mpirun (customMpi, horovod, the PyTorch MPI backend, and CNTK, Chainer
// and Caffe with more than one process) run it on the master node with a host file listing every node of the job,
// as Batch AI did. The host file is written to $AZ_BATCHAI_MPI_HOST_FILE before the task starts.

/**
 * `ip slots=k` per node, k processes per node spread evenly. Nodes that share an address (every local node is
 * 127.0.0.1) become one line with their slots added: OpenMPI refuses a host file that gives one host two slot
 * counts.
 */
export function hostFileContent(nodes: readonly AllocatedNode[], processCount: number): string {
  const perNode = Math.ceil(processCount / Math.max(1, nodes.length));
  const slots = new Map<string, number>();
  for (const n of nodes) slots.set(n.ipAddress, (slots.get(n.ipAddress) ?? 0) + perNode);
  return `${[...slots].map(([ip, k]) => `${ip} slots=${k}`).join('\n')}\n`;
}

/**
 * The mpirun prefix. `-x NAME` exports each named variable to the ranks mpirun starts on other nodes (a local rank
 * inherits the environment anyway). OpenMPI refuses to run as root unless told, and a job's user on the local stack
 * may be root; Batch AI's nodes ran jobs as a non-root user, so this changes nothing there.
 */
export function mpirun(processCount: number, hostFile: string, exported: readonly string[]): string {
  const exports = exported.map((name) => `-x ${name}`).join(' ');
  // The host file is referenced through its variable, so bash on the node expands it to that node's real path
  // (the local agent keeps node paths below the VM's disk); the planned path is the same on Azure.
  const word = hostFile === HOST_FILE_VARIABLE ? `"$${HOST_FILE_VARIABLE}"` : shellWord(hostFile);
  return [`mpirun -np ${processCount} --hostfile ${word}`, exports].filter((s) => s !== '').join(' ');
}

/** Pass as mpirun's hostFile to reference $AZ_BATCHAI_MPI_HOST_FILE instead of a literal path. */
export const HOST_FILE_VARIABLE = 'AZ_BATCHAI_MPI_HOST_FILE';

/** Variables every mpirun-launched rank needs from the master's environment. */
export const MPI_ENVIRONMENT = [
  { name: 'OMPI_ALLOW_RUN_AS_ROOT', value: '1' },
  { name: 'OMPI_ALLOW_RUN_AS_ROOT_CONFIRM', value: '1' },
];
