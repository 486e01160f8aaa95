import { outputDirectoryPath, stdOutErrDirectoryPath } from '../job-outputs.js';
import type { JobProperties } from '../job-schema.js';
import { jobOutputDirectoryPathSegment } from '../job-view.js';
import type { BatchAiError } from '../resource-states.js';
import { TOOLKITS, type ToolkitProperty, type ToolType } from '../toolkit-schema.js';
import { planCaffe } from './caffe.js';
import { planCaffe2 } from './caffe2.js';
import { planChainer } from './chainer.js';
import { planCntk } from './cntk.js';
import { planCustomMpi } from './custom-mpi.js';
import { planCustomToolkit } from './custom-toolkit.js';
import { planHorovod } from './horovod.js';
import { HOST_FILE_VARIABLE, hostFileContent, mpirun } from './mpi.js';
import { planPyTorch } from './pytorch.js';
import { planTensorFlow } from './tensorflow.js';
import {
  type AllocatedNode,
  AZURE_NODE_LAYOUT,
  type ContainerRequirement,
  DEFAULT_RENDEZVOUS_PORT,
  type LaunchInput,
  type LaunchPlan,
  type LaunchPlanResult,
  type PlannedTask,
  RENDEZVOUS_PORTS_PER_NODE,
  type TaskVariable,
  type ToolkitPlanner,
} from './types.js';
import { expandVariables } from './variables.js';

// The common part of every launch plan: the AZ_BATCHAI_* environment (the table of Batch AI's documentation), the
// job's own variables and secret names, directories and the MPI host file. The toolkit planners only say which
// processes run where with which command line and framework variables.

const PLANNERS: Record<ToolkitProperty, ToolkitPlanner> = {
  customToolkitSettings: planCustomToolkit,
  customMpiSettings: planCustomMpi,
  horovodSettings: planHorovod,
  pyTorchSettings: planPyTorch,
  tensorFlowSettings: planTensorFlow,
  chainerSettings: planChainer,
  cntkSettings: planCntk,
  caffeSettings: planCaffe,
  caffe2Settings: planCaffe2,
};

/** The MPI host file, relative to the job's temp directory (where `files` entries are written). */
export const HOST_FILE_NAME = 'hostfile';

/** The directory of one job below $AZ_BATCHAI_JOB_TEMP_DIR: unique per job creation (uid), shared by its attempts. */
export function jobTempSegment(input: Pick<LaunchInput, 'jobId' | 'uid'>): string {
  return [input.jobId.workspace, input.jobId.experiment, input.jobId.job, input.uid].join('/');
}

/**
 * The AZ_BATCHAI_* variables of a job on one node, in a fixed order: every path a job can reference, fully
 * expanded. Output and input paths may reference the roots ($AZ_BATCHAI_JOB_MOUNT_ROOT/logs), so the roots come
 * first and later values are expanded with the earlier ones.
 */
export function jobEnvironment(
  input: Pick<LaunchInput, 'jobId' | 'uid' | 'job'>,
  node: Pick<AllocatedNode, 'gpus' | 'layout'>,
): TaskVariable[] {
  const layout = node.layout ?? AZURE_NODE_LAYOUT;
  const jobTemp = `${trimSlash(layout.jobsRoot)}/${jobTempSegment(input)}`;
  const segment = jobOutputDirectoryPathSegment(input.jobId, input.uid);
  const values = new Map<string, string>();
  const out: TaskVariable[] = [];
  const set = (name: string, value: string) => {
    values.set(name, value);
    out.push({ name, value });
  };
  const expand = (text: string) => expandVariables(text, values);
  set('AZ_BATCHAI_MOUNT_ROOT', trimSlash(layout.mountRoot));
  set('AZ_BATCHAI_JOB_TEMP_DIR', trimSlash(layout.jobsRoot));
  set('AZ_BATCHAI_JOB_TEMP', jobTemp);
  set('AZ_BATCHAI_JOB_MOUNT_ROOT', `${jobTemp}/mounts`);
  set('AZ_BATCHAI_SHARED_JOB_TEMP', `${jobTemp}/shared`);
  set('AZ_BATCHAI_MPI_HOST_FILE', `${jobTemp}/${HOST_FILE_NAME}`);
  set('AZ_BATCHAI_NUM_GPUS', String(node.gpus));
  set('AZ_BATCHAI_STDOUTERR_DIR', stdOutErrDirectoryPath(expand(input.job.stdOutErrPathPrefix), segment));
  for (const d of input.job.inputDirectories ?? []) set(`AZ_BATCHAI_INPUT_${d.id}`, expand(d.path));
  for (const d of input.job.outputDirectories ?? []) {
    const suffix = d.pathSuffix === undefined ? undefined : expand(d.pathSuffix);
    set(`AZ_BATCHAI_OUTPUT_${d.id}`, outputDirectoryPath(expand(d.pathPrefix), segment, suffix));
  }
  return out;
}

/** Job-defined variables (values expanded with the AZ_BATCHAI_* ones) and secret names; ours win on a clash. */
function userEnvironment(job: JobProperties, ours: readonly TaskVariable[]) {
  const reserved = new Set(ours.map((v) => v.name));
  const values = new Map(ours.map((v) => [v.name, v.value]));
  const variables = (job.environmentVariables ?? [])
    .filter((v) => !reserved.has(v.name))
    .map((v) => ({ name: v.name, value: expandVariables(v.value, values) }));
  const secretNames = (job.secrets ?? []).map((s) => s.name).filter((n) => !reserved.has(n));
  return { variables, secretNames };
}

export function toolkitOf(job: Partial<Record<ToolkitProperty, unknown>>): {
  property: ToolkitProperty;
  toolType: ToolType;
} {
  const toolkit = TOOLKITS.find((t) => job[t.property] !== undefined) ?? TOOLKITS.find((t) => t.toolType === 'custom')!;
  return { property: toolkit.property, toolType: toolkit.toolType };
}

const error = (code: string, message: string): BatchAiError => ({ code, message });

/** Which process runs on which node, with which command line, environment and files. Pure and deterministic. */
export function planLaunch(input: LaunchInput): LaunchPlanResult {
  const { job, nodes } = input;
  if (nodes.length !== job.nodeCount) {
    return fail('InvalidAllocation', `the job needs ${job.nodeCount} node(s) but ${nodes.length} were allocated`);
  }
  if (new Set(nodes.map((n) => n.nodeId)).size !== nodes.length) {
    return fail('InvalidAllocation', 'a node was allocated to the job twice');
  }
  const conflicts = rendezvousConflicts(nodes);
  const toolkit = toolkitOf(job);
  const processCount = (job[toolkit.property] as { processCount?: number } | undefined)?.processCount ?? job.nodeCount;
  const hostFile = hostFileContent(nodes, processCount);

  const perNode = nodes.map((node) => {
    const ours = jobEnvironment(input, node);
    return { ours, ...userEnvironment(job, ours) };
  });
  const master = perNode[0]!;
  const exported = [...master.ours.map((v) => v.name), ...master.variables.map((v) => v.name), ...master.secretNames];

  const processes = PLANNERS[toolkit.property]({
    job,
    nodes,
    endpoint(nodeIndex, slot) {
      const node = nodes[nodeIndex]!;
      if (conflicts.has(nodeIndex)) {
        return error(
          'RendezvousPortConflict',
          `nodes ${conflicts.get(nodeIndex)} share the address ${node.ipAddress} and their rendezvous ports overlap; ` +
            `each node on one address needs its own block of ${RENDEZVOUS_PORTS_PER_NODE} ports`,
        );
      }
      if (slot >= RENDEZVOUS_PORTS_PER_NODE) {
        return error(
          'TooManyProcessesPerNode',
          `the job places more than ${RENDEZVOUS_PORTS_PER_NODE} framework processes on node ${node.nodeId}`,
        );
      }
      return { host: node.ipAddress, port: (node.rendezvousPort ?? DEFAULT_RENDEZVOUS_PORT) + slot };
    },
    mpirun: (count) => mpirun(count, HOST_FILE_VARIABLE, exported),
  });
  if (!Array.isArray(processes)) return { ok: false, error: processes };

  const build = (
    nodeIndex: number,
    task: { taskId: string; taskIndex: number; commandLine: string; environment: TaskVariable[] },
    stdOutErrBelow: string | undefined,
  ): PlannedTask => {
    const env = perNode[nodeIndex]!;
    const get = (name: string) => env.ours.find((v) => v.name === name)!.value;
    const stdouterr = get('AZ_BATCHAI_STDOUTERR_DIR');
    return {
      nodeId: nodes[nodeIndex]!.nodeId,
      taskId: task.taskId,
      taskIndex: task.taskIndex,
      commandLine: task.commandLine,
      workingDirectory: get('AZ_BATCHAI_JOB_TEMP'),
      environmentVariables: [
        ...env.ours,
        { name: 'AZ_BATCHAI_TASK_INDEX', value: String(task.taskIndex) },
        ...task.environment,
        ...env.variables,
      ],
      secretNames: [...env.secretNames],
      stdOutErrDirectory: stdOutErrBelow === undefined ? stdouterr : `${stdouterr}/${stdOutErrBelow}`,
      files: [{ path: HOST_FILE_NAME, content: hostFile }],
    };
  };

  // The master's output goes to stdouterr/ itself (stdout.txt, stderr.txt, as on Batch AI); other processes and
  // job preparation get a folder each, so no two processes write the same file.
  const tasks = processes.map((p) => build(p.nodeIndex, p, p.taskId === 'master' ? undefined : p.taskId));
  const preparation = job.jobPreparation
    ? nodes.map((node, i) =>
        build(
          i,
          { taskId: `jobprep-${i}`, taskIndex: i, commandLine: job.jobPreparation!.commandLine, environment: [] },
          `jobpreparation/${node.nodeId}`,
        ),
      )
    : [];

  const container = containerRequirement(job);
  const plan: LaunchPlan = {
    toolType: toolkit.toolType,
    preparation,
    tasks,
    execution: container && !input.hostExecution ? { mode: 'container', container } : { mode: 'host' },
    ...(container && input.hostExecution ? { containerIgnored: container } : {}),
  };
  return { ok: true, plan };
}

function fail(code: string, message: string): LaunchPlanResult {
  return { ok: false, error: error(code, message) };
}

function containerRequirement(job: JobProperties): ContainerRequirement | undefined {
  const settings = job.containerSettings;
  if (settings === undefined) return undefined;
  const registry = settings.imageSourceRegistry;
  return {
    image: registry.image,
    ...(registry.serverUrl ? { serverUrl: registry.serverUrl } : {}),
    ...(registry.credentials ? { username: registry.credentials.username } : {}),
    ...(settings.shmSize ? { shmSize: settings.shmSize } : {}),
  };
}

// Nodes on one address whose rendezvous port blocks overlap, by node index (with the names, for the message).
function rendezvousConflicts(nodes: readonly AllocatedNode[]): Map<number, string> {
  const out = new Map<number, string>();
  const byAddress = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    byAddress.set(n.ipAddress, [...(byAddress.get(n.ipAddress) ?? []), i]);
  });
  for (const indexes of byAddress.values()) {
    const sorted = [...indexes].sort(
      (a, b) =>
        (nodes[a]!.rendezvousPort ?? DEFAULT_RENDEZVOUS_PORT) - (nodes[b]!.rendezvousPort ?? DEFAULT_RENDEZVOUS_PORT),
    );
    for (let k = 1; k < sorted.length; k++) {
      const prev = sorted[k - 1]!;
      const cur = sorted[k]!;
      const gap =
        (nodes[cur]!.rendezvousPort ?? DEFAULT_RENDEZVOUS_PORT) -
        (nodes[prev]!.rendezvousPort ?? DEFAULT_RENDEZVOUS_PORT);
      if (gap < RENDEZVOUS_PORTS_PER_NODE) {
        const names = `${nodes[prev]!.nodeId} and ${nodes[cur]!.nodeId}`;
        out.set(prev, names);
        out.set(cur, names);
      }
    }
  }
  return out;
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}
