import type { Container } from '@azure/cosmos';
import type { BatchAiApi } from '../../support/api-client.js';
import { cosmosClient, type TestStack } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';
import {
  getJob,
  type JobCluster,
  type JobView,
  jobBody,
  listOutputs,
  remoteLogins,
  submitJob,
} from '../jobs/harness.js';

// Shared by the crash-safety test, the chaos soak and the recovery benchmark: a checkpointing job whose output proves
// it finished every step exactly once in the end, and that no two of its attempts ever ran at the same time; and a
// sampler of the schedule documents in Cosmos that checks who holds which node.

/**
 * `steps` steps of `stepSeconds` each. A step's checkpoint file is written once it is done, and a later attempt
 * skips the steps it finds (it resumes). On start, an attempt records itself in `attempts.log` and, if the pid
 * written by another attempt is still running, writes `overlap` (two attempts at once). `done` is written last.
 * (Linux: it reads /proc; every process of the local stack runs on this machine.)
 */
export function checkpointCommand(steps: number, stepSeconds: number): string {
  return [
    'O=$AZ_BATCHAI_OUTPUT_OUT',
    // A killed attempt's process may linger as a zombie until something reaps it (an orphan's new parent can be
    // slow to, e.g. PID 1 of a micro-VM): only a process that is not a zombie is still running.
    'P=$(cat $O/running.pid 2>/dev/null)',
    'if [ -n "$P" ] && grep -q "^State:[[:space:]]*[^Z[:space:]]" /proc/$P/status 2>/dev/null; then echo "$$ $P" >> $O/overlap; fi',
    'echo $$ > $O/running.pid',
    'echo "start $$ $(date +%s.%N)" >> $O/attempts.log',
    `for i in $(seq 1 ${steps}); do if [ ! -f $O/step-$i ]; then sleep ${stepSeconds}; echo $i > $O/step-$i; fi; done`,
    'echo done > $O/done',
    'rm -f $O/running.pid',
  ].join('; ');
}

export async function submitCheckpointJob(
  c: JobCluster,
  name: string,
  steps: number,
  stepSeconds: number,
): Promise<string> {
  const path = c.jobPath(name);
  await submitJob(
    c.api,
    path,
    jobBody(c.clusterId, { customToolkitSettings: { commandLine: checkpointCommand(steps, stepSeconds) } }),
  );
  return path;
}

/** The job's output files (through the API, from their storage). */
export async function outputNames(api: BatchAiApi, path: string): Promise<string[]> {
  return (await listOutputs(api, path, 'OUT')).value.map((f) => f.name).sort();
}

/** What is wrong with a finished checkpoint job: not succeeded, a step or `done` missing, or attempts overlapping. */
export async function checkpointJobProblems(api: BatchAiApi, path: string, job: JobView, steps: number) {
  const problems: string[] = [];
  if (job.executionState !== 'succeeded') problems.push(`${path} ended ${job.executionState}: ${JSON.stringify(job)}`);
  const files = (await listOutputs(api, path, 'OUT')).value;
  const names = files.map((f) => f.name);
  const text = async (name: string) => {
    const url = files.find((f) => f.name === name)?.downloadUrl;
    return url ? (await fetch(url)).text() : '';
  };
  for (let i = 1; i <= steps; i++) if (!names.includes(`step-${i}`)) problems.push(`${path}: no step-${i}`);
  if (!names.includes('done')) problems.push(`${path}: no done`);
  if (names.includes('overlap')) {
    problems.push(
      `${path}: two attempts ran at once (new pid, live pid: ${await text('overlap')}; starts: ${await text('attempts.log')}; attempts: ${JSON.stringify(job['x-batchai-attempts'] ?? [])})`,
    );
  }
  return problems;
}

/** Waits (through any API outage: a host being restarted answers nothing) until the job is succeeded or failed. */
export async function waitForEnd(api: BatchAiApi, path: string, timeoutMs: number): Promise<JobView> {
  let last: JobView | undefined;
  try {
    return await waitFor(
      `${path} to end`,
      async () => {
        last = (await getJob(api, path).catch(() => undefined)) ?? last;
        return last && ['succeeded', 'failed'].includes(last.executionState) ? last : false;
      },
      timeoutMs,
      200,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`);
  }
}

/** The node (`<scaleSet>_<instance>`) a running job's first task runs on, once it has checkpointed `step`. */
export async function runningNodeOf(api: BatchAiApi, path: string, step = 1, timeoutMs = 120_000): Promise<string> {
  return waitFor(
    `${path} to run and checkpoint step ${step}`,
    async () => {
      const job = await getJob(api, path).catch(() => undefined);
      if (job?.executionState !== 'running') return false;
      const names = await outputNames(api, path).catch((): string[] => []);
      if (!names.includes(`step-${step}`)) return false;
      const [node] = await remoteLogins(api, path).catch(() => []);
      return node?.nodeId ?? false;
    },
    timeoutMs,
    100,
  );
}

interface ScheduleDoc {
  clusterId: string;
  queue: Array<{ jobId: string; attempt: number }>;
  allocations: Array<{ jobId: string; attempt: number; nodeIds: string[] }>;
  staged?: Array<{ jobId: string; attempt: number; nodeId: string }>;
}

/**
 * The invariants one schedule document must hold: a node held once, a job held, staged or queued once, at most one
 * job staged per node (a staged job waits behind the node's holder: that is not holding it twice).
 */
export function scheduleViolations(doc: ScheduleDoc): string[] {
  const out: string[] = [];
  const holder = new Map<string, string>();
  const jobs = new Map<string, string>();
  for (const a of doc.allocations) {
    for (const n of a.nodeIds) {
      const other = holder.get(n);
      if (other) out.push(`node ${n} held by ${other} and ${a.jobId}#${a.attempt}`);
      holder.set(n, `${a.jobId}#${a.attempt}`);
    }
    const seen = jobs.get(a.jobId);
    if (seen) out.push(`job ${a.jobId} allocated twice (${seen}, attempt ${a.attempt})`);
    jobs.set(a.jobId, `attempt ${a.attempt}`);
  }
  for (const q of doc.queue) {
    const seen = jobs.get(q.jobId);
    if (seen) out.push(`job ${q.jobId} both ${seen.startsWith('attempt') ? 'allocated' : 'queued'} and queued`);
    jobs.set(q.jobId, 'queued');
  }
  const stagedOn = new Map<string, string>();
  for (const st of doc.staged ?? []) {
    const other = stagedOn.get(st.nodeId);
    if (other) out.push(`node ${st.nodeId} has ${other} and ${st.jobId}#${st.attempt} staged`);
    stagedOn.set(st.nodeId, `${st.jobId}#${st.attempt}`);
    const seen = jobs.get(st.jobId);
    if (seen) out.push(`job ${st.jobId} both ${seen.startsWith('attempt') ? 'allocated' : seen} and staged`);
    jobs.set(st.jobId, 'staged');
  }
  return out;
}

/**
 * Reads every schedule document from Cosmos in a loop (skipping rounds while Cosmos is down) and keeps each
 * invariant violation seen, with the number of documents checked, so a test can assert both.
 */
export class ScheduleSampler {
  readonly violations: string[] = [];
  samples = 0;
  /** The documents of the latest round (what a failing test prints). */
  latest: ScheduleDoc[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(stack: TestStack, intervalMs = 150) {
    const container: Container = cosmosClient(stack.descriptor)
      .database(stack.descriptor.cosmos.database)
      .container('schedules');
    this.loop = (async () => {
      while (this.running) {
        try {
          const { resources } = await container.items.query<ScheduleDoc>('SELECT * FROM c').fetchAll();
          this.latest = resources;
          for (const doc of resources) {
            this.samples++;
            for (const v of scheduleViolations(doc)) this.violations.push(`${new Date().toISOString()} ${v}`);
          }
        } catch {
          // Cosmos is down (killed on purpose) or answering slowly: the next round reads again.
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
