import type { BatchAiError } from '../resource-states.js';
import { pythonCommand } from './python.js';
import type { ToolkitPlanner, ToolkitProcess } from './types.js';

// tensorFlowSettings. A single worker with no parameter server is a plain process on the master node. Distributed
// training (several nodes or workers, or parameter servers) runs parameterServerCount parameter servers (default 1)
// and workerCount workers (default nodeCount): parameter servers are placed round-robin over the nodes first, then
// workers, and each process takes its node's next rendezvous port. With one parameter server and two workers on two
// nodes this gives Batch AI's documented layout: ps 10.0.0.4:2222, workers 10.0.0.4:2223 and 10.0.0.5:2222.
// Every process gets AZ_BATCHAI_PS_HOSTS, AZ_BATCHAI_WORKER_HOSTS, AZ_BATCHAI_TASK_INDEX (its index in its role) and
// TF_CONFIG; worker 0 is the master: its task type in TF_CONFIG is "master" and it gets masterCommandLineArgs.
export const planTensorFlow: ToolkitPlanner = ({ job, nodes, endpoint }) => {
  const s = job.tensorFlowSettings!;
  const workers = s.workerCount ?? job.nodeCount;
  const distributed = job.nodeCount > 1 || workers > 1 || (s.parameterServerCount ?? 0) > 0;
  const masterArgs = s.masterCommandLineArgs ?? s.workerCommandLineArgs;
  if (!distributed) {
    return [
      { nodeIndex: 0, taskId: 'master', taskIndex: 0, commandLine: pythonCommand(s, masterArgs), environment: [] },
    ];
  }
  const parameterServers = s.parameterServerCount ?? 1;
  const slots = new Array<number>(nodes.length).fill(0);
  const place = (i: number) => {
    const nodeIndex = i % nodes.length;
    const at = endpoint(nodeIndex, slots[nodeIndex]!);
    slots[nodeIndex]! += 1;
    return { nodeIndex, at };
  };
  const ps = Array.from({ length: parameterServers }, (_, i) => place(i));
  const wk = Array.from({ length: workers }, (_, i) => place(i));
  const failed = [...ps, ...wk].find((p) => 'code' in p.at);
  if (failed) return failed.at as BatchAiError;
  const address = (p: { at: unknown }) => {
    const e = p.at as { host: string; port: number };
    return `${e.host}:${e.port}`;
  };
  const psHosts = ps.map(address);
  const workerHosts = wk.map(address);
  const common = [
    { name: 'AZ_BATCHAI_PS_HOSTS', value: psHosts.join(',') },
    { name: 'AZ_BATCHAI_WORKER_HOSTS', value: workerHosts.join(',') },
  ];
  const tfConfig = (type: string, index: number) =>
    JSON.stringify({ cluster: { ps: psHosts, worker: workerHosts }, task: { type, index }, environment: 'cloud' });
  const processes: ToolkitProcess[] = [];
  ps.forEach((p, i) => {
    processes.push({
      nodeIndex: p.nodeIndex,
      taskId: `ps-${i}`,
      taskIndex: i,
      commandLine: pythonCommand(s, s.parameterServerCommandLineArgs),
      environment: [...common, { name: 'TF_CONFIG', value: tfConfig('ps', i) }],
    });
  });
  wk.forEach((w, i) => {
    processes.push({
      nodeIndex: w.nodeIndex,
      taskId: i === 0 ? 'master' : `worker-${i}`,
      taskIndex: i,
      commandLine: pythonCommand(s, i === 0 ? masterArgs : s.workerCommandLineArgs),
      environment: [...common, { name: 'TF_CONFIG', value: i === 0 ? tfConfig('master', 0) : tfConfig('worker', i) }],
    });
  });
  return processes;
};
