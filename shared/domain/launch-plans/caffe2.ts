import { pythonCommand } from './python.js';
import type { ToolkitPlanner } from './types.js';

// caffe2Settings: the script runs once per node; each process knows its shard from AZ_BATCHAI_TASK_INDEX (Batch AI
// set it for Caffe2) and the shard count from AZ_BATCHAI_NUM_TASKS.
export const planCaffe2: ToolkitPlanner = ({ job, nodes }) => {
  const s = job.caffe2Settings!;
  const command = pythonCommand(s, s.commandLineArgs);
  return nodes.map((_, i) => ({
    nodeIndex: i,
    taskId: i === 0 ? 'master' : `rank-${i}`,
    taskIndex: i,
    commandLine: command,
    environment: [{ name: 'AZ_BATCHAI_NUM_TASKS', value: String(nodes.length) }],
  }));
};
