// `npm run bench`: every benchmark, one after another (they share the machine, so never in parallel), each
// recording its figures and ratios against a baseline run in the same process under bench/results/.
import * as agentCommandLatency from './agent-command-latency.js';
import * as agentIdleRss from './agent-idle-rss.js';
import * as agentStagedStart from './agent-staged-start.js';
import * as apiAuthOverhead from './api-auth-overhead.js';
import * as azuriteDurableWrites from './azurite-durable-writes.js';
import * as clusterProvisioning from './cluster-provisioning.js';
import * as computeBoot from './compute-boot.js';
import * as durableHelloSequence from './durable-hello-sequence.js';
import * as jobRecovery from './job-recovery.js';
import * as jobsThroughput from './jobs-throughput.js';
import * as schedulingPass from './scheduling-pass.js';

const BENCHMARKS: Array<{
  name: string;
  run(): Promise<Record<string, unknown>>;
  writeResults(r: Record<string, unknown>): Promise<void>;
}> = [
  { name: 'durable-hello-sequence', ...durableHelloSequence },
  { name: 'scheduling-pass', ...schedulingPass },
  { name: 'compute-boot', ...computeBoot },
  { name: 'api-auth-overhead', ...apiAuthOverhead },
  { name: 'azurite-durable-writes', ...azuriteDurableWrites },
  { name: 'agent-idle-rss', ...agentIdleRss },
  { name: 'agent-command-latency', ...agentCommandLatency },
  { name: 'agent-staged-start', ...agentStagedStart },
  { name: 'cluster-provisioning', ...clusterProvisioning },
  { name: 'jobs-throughput', ...jobsThroughput },
  { name: 'job-recovery', ...jobRecovery },
];

for (const bench of BENCHMARKS) {
  const started = Date.now();
  process.stdout.write(`bench ${bench.name}…\n`);
  const result = await bench.run();
  await bench.writeResults(result);
  process.stdout.write(
    `bench ${bench.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n${JSON.stringify(result, null, 2)}\n`,
  );
}
process.exit(0);
