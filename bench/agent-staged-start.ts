// Benchmark: the gap between one job's process exit and the next job's process start on a node, when the next
// job's runTask was staged behind the first (decision 0120) against when it is sent once the exit is seen.
//
// Measured (one run): Azurite started in-process through the local stack; one real agent process
// (dist/agent/main.js, LOCAL_VM_ENV set, as the emulator spawns it). PAIRS times, alternating the two ways:
//  - staged: task A (held at a gate file, so the next command surely arrives while it runs) and task B with
//    `after: [A]` are sent; once the agent has logged B as staged the gate opens; A's last act writes
//    $EPOCHREALTIME, B's first act writes $EPOCHREALTIME; the gap is the difference. The agent also logs its own
//    figure (`exitToSpawnMs` on B's "task started": A's exit event handled → spawn() returned; not a part of the
//    gap: spawn() forks and execs synchronously, and on a loaded machine the child may run long before the agent
//    gets the CPU back, so its tail can exceed the gap's).
//  - baseline (same run, same agent): A (`echo $EPOCHREALTIME`, a `true` that says when it ended) is sent; this
//    process reads A's taskExited off node-events with a tight poller and at once sends B — the agent → queue →
//    app → queue → agent trip today's launch path pays, with no app work in it (an app adds Cosmos and more).
// Both gaps are measured by the processes themselves on one clock, so they include bash's exit and start.

import type { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueServiceClient } from '@azure/storage-queue';
import { freePortPlan } from '../local/stack/ports.js';
import { startStack } from '../local/stack/stack.js';
import { type AgentEvent, NODE_EVENTS_QUEUE, nodeCommandQueueName, parseAgentEvent } from '../shared/domain/index.js';
import { latencySummary, machineInfo, spawnLocalAgent } from './bench-support.js';
import { replaceResultsSection, runIfMain } from './results-section.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = path.join(repoRoot, 'bench/results');
const _AGENT_MAIN = fileURLToPath(new URL('../agent/main.js', import.meta.url));
const PAIRS = Number(process.env.BENCH_PAIRS ?? 50);
const TIMEOUT_MS = 60_000;
const MARK_START = '<!-- agent-staged-start:start -->';
const MARK_END = '<!-- agent-staged-start:end -->';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const summary = (samples: number[]) => latencySummary(samples, 2);

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

const readStamp = async (file: string) => Number((await readFile(file, 'utf8')).trim()) * 1000;

export async function run(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-agent-staged-'));
  const stack = await startStack({ dataDir, ports: await freePortPlan(), services: ['azurite'] });
  let agent: ReturnType<typeof spawn> | undefined;
  let reading = true;
  let reader: Promise<void> | undefined;
  try {
    const storage = stack.descriptor.storage;
    const queues = QueueServiceClient.fromConnectionString(storage.connectionString);
    const eventsQueue = queues.getQueueClient(NODE_EVENTS_QUEUE);
    await eventsQueue.createIfNotExists();
    // The app's side, as fast as it can be: a tight poller keeping every event.
    const events: AgentEvent[] = [];
    reader = (async () => {
      while (reading) {
        const { receivedMessageItems } = await eventsQueue.receiveMessages({ numberOfMessages: 32 });
        for (const m of receivedMessageItems) {
          const parsed = parseAgentEvent(Buffer.from(m.messageText, 'base64').toString('utf8'));
          if (parsed.ok) events.push(parsed.value);
          void eventsQueue.deleteMessage(m.messageId, m.popReceipt).catch(() => {});
        }
      }
    })();
    const event = <K extends AgentEvent['kind']>(kind: K, taskId: string) =>
      until(`${kind} of ${taskId}`, () =>
        events.find(
          (e): e is Extract<AgentEvent, { kind: K }> => e.kind === kind && 'taskId' in e && e.taskId === taskId,
        ),
      );

    const scaleSet = `bai-stg${randomUUID().slice(0, 6)}`;
    const spawned = await spawnLocalAgent({ dataDir, scaleSet, cluster: 'stg', storage, stderr: 'pipe' });
    agent = spawned.agent;
    const scratch = path.join(spawned.disk, 'scratch');
    await mkdir(scratch, { recursive: true });
    // The agent's log: which tasks it staged, and its own exit → spawn figure.
    const logLines: Array<Record<string, unknown>> = [];
    let partial = '';
    agent.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        try {
          logLines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {}
      }
    });
    const logged = (msg: string, taskId: string) =>
      until(`"${msg}" of ${taskId}`, () => logLines.find((l) => l.msg === msg && l.taskId === taskId));

    const registered = await until('registered', () => events.find((e) => e.kind === 'registered'));
    const commands = queues.getQueueClient(nodeCommandQueueName(scaleSet, '0'));
    const send = (body: Record<string, unknown>) =>
      commands.sendMessage(
        Buffer.from(
          JSON.stringify({
            v: 1,
            kind: 'runTask',
            bootId: registered.node.bootId,
            commandId: randomUUID(),
            attempt: 1,
            workingDirectory: '/wd',
            environmentVariables: [],
            secrets: [],
            files: [],
            ...body,
          }),
        ).toString('base64'),
      );
    const task = (jobId: string, commandLine: string, after?: string[]) =>
      send({
        jobId,
        taskId: `${jobId}.master`,
        commandLine,
        stdOutErrDirectory: `/out/${jobId}`,
        ...(after ? { after } : {}),
      });

    const staged: number[] = [];
    const baseline: number[] = [];
    const agentShare: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      // Staged: B is on the node before A ends.
      const a = `sa${i}`;
      const b = `sb${i}`;
      const gate = path.join(scratch, `${a}.go`);
      await task(a, `while [ ! -e '${gate}' ]; do sleep 0.01; done; echo $EPOCHREALTIME > '${scratch}/${a}'`);
      await task(b, `echo $EPOCHREALTIME > '${scratch}/${b}'`, [`${a}.master`]);
      await logged('task staged', `${b}.master`);
      await writeFile(gate, '');
      await event('taskExited', `${b}.master`);
      staged.push((await readStamp(path.join(scratch, b))) - (await readStamp(path.join(scratch, a))));
      const started = await logged('task started', `${b}.master`);
      if (typeof started.exitToSpawnMs === 'number') agentShare.push(started.exitToSpawnMs);

      // Baseline: B is sent once A's exit is seen.
      const c = `ba${i}`;
      const d = `bb${i}`;
      await task(c, `echo $EPOCHREALTIME > '${scratch}/${c}'`);
      await event('taskExited', `${c}.master`);
      await task(d, `echo $EPOCHREALTIME > '${scratch}/${d}'`);
      await event('taskExited', `${d}.master`);
      baseline.push((await readStamp(path.join(scratch, d))) - (await readStamp(path.join(scratch, c))));
    }
    const s = summary(staged);
    const b = summary(baseline);
    return {
      benchmark: 'agent-staged-start',
      date: new Date().toISOString(),
      machine: machineInfo(),
      workload: { pairs: PAIRS },
      stagedGapMs: s,
      agentExitToSpawnMs: summary(agentShare),
      baselineGapMs: b,
      ratioP50: Math.round((s.p50 / b.p50) * 1000) / 1000,
      ratioP99: Math.round((s.p99 / b.p99) * 1000) / 1000,
    };
  } finally {
    reading = false;
    agent?.kill('SIGKILL');
    await reader?.catch(() => {});
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function writeResults(result: Record<string, unknown>): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'agent-staged-start.json'), `${JSON.stringify(result, null, 2)}\n`);
  type S = { p50: number; p99: number; max: number; n: number };
  const s = result.stagedGapMs as S;
  const a = result.agentExitToSpawnMs as S;
  const b = result.baselineGapMs as S;
  const m = result.machine as { cpuModel: string; cpuCount: number; node: string; loadAverageAtEnd: number[] };
  const section = [
    MARK_START,
    '## agent-staged-start',
    '',
    "One node agent: a job's process exit → the next job's process start, the next runTask staged behind the first",
    '(`after`) against sent once the exit event is seen (both measured by the processes, one clock).',
    `Machine: ${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, load average at end ${m.loadAverageAtEnd.join(' / ')} (shared machine); ${String(result.date)}.`,
    '',
    '| | p50 | p99 | max | n |',
    '|---|---|---|---|---|',
    `| baseline: runTask sent when taskExited is read (tight poller, no app) | ${b.p50} ms | ${b.p99} ms | ${b.max} ms | ${b.n} |`,
    `| staged: exit → next start | ${s.p50} ms | ${s.p99} ms | ${s.max} ms | ${s.n} |`,
    `| agent's own figure: predecessor's exit seen → spawn() returned | ${a.p50} ms | ${a.p99} ms | ${a.max} ms | ${a.n} |`,
    `| ratio staged / baseline | ${String(result.ratioP50)} (p50) | ${String(result.ratioP99)} (p99) | | |`,
    '',
    'Details and method: `bench/agent-staged-start.ts`; raw figures: `agent-staged-start.json`.',
    MARK_END,
  ].join('\n');
  await replaceResultsSection(resultsDir, MARK_START, MARK_END, section);
}

await runIfMain(import.meta.url, run, writeResults);
