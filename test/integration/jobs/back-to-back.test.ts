import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack, withServiceOutput } from '../../support/stack.js';
import { waitForNodes } from '../clusters/harness.js';
import { hostCluster, type JobCluster, jobBody, readShareFile, submitJob, waitForJob } from './harness.js';

// Short jobs back to back on a 2-node cluster: each job's end runs its cluster's scheduling pass directly
// (finish-job.ts), so passes from both nodes' finishes and the scheduler's own race on the schedule document.
// Whatever the interleaving, a node runs one job at a time: each job prints which node it ran on (its
// AZ_BATCHAI_JOB_TEMP_DIR is under that node's disk) and when it started and ended, and on every node those
// intervals never overlap. Afterwards every node is idle again (none left marked running by a racing pass).

const JOBS = 12;

let stack: TestStack;
let c: JobCluster;

before(async () => {
  stack = await startTestStack();
  c = await hostCluster(stack, 2);
});
after(() => stack?.dispose());

test('jobs back to back never share a node, and every node is idle after the last one', { timeout: 300_000 }, () =>
  withServiceOutput(stack, async () => {
    const names = Array.from({ length: JOBS }, (_, i) => `b2b-${i}`);
    await Promise.all(
      names.map((name) =>
        submitJob(
          c.api,
          c.jobPath(name),
          jobBody(c.clusterId, {
            customToolkitSettings: {
              commandLine: 'echo "$AZ_BATCHAI_JOB_TEMP_DIR"; date +%s%N; sleep 0.3; date +%s%N',
            },
          }),
        ),
      ),
    );
    const runs = await Promise.all(
      names.map(async (name) => {
        const done = await waitForJob(c.api, c.jobPath(name), ['succeeded', 'failed'], 240_000);
        assert.equal(done.executionState, 'succeeded', `${name}: ${JSON.stringify(done)}`);
        const [node, start, end] = (
          await readShareFile(stack, `${done.jobOutputDirectoryPathSegment}/stdouterr/stdout.txt`)
        )
          .trim()
          .split('\n');
        return { name, node: node!, start: BigInt(start!), end: BigInt(end!) };
      }),
    );
    const byNode = new Map<string, typeof runs>();
    for (const r of runs) byNode.set(r.node, [...(byNode.get(r.node) ?? []), r]);
    assert.equal(byNode.size, 2, `both nodes ran jobs: ${[...byNode.keys()].join(', ')}`);
    for (const [node, list] of byNode) {
      list.sort((a, b) => (a.start < b.start ? -1 : 1));
      for (let i = 1; i < list.length; i++) {
        assert.ok(
          list[i]!.start >= list[i - 1]!.end,
          `${list[i]!.name} started on ${node} while ${list[i - 1]!.name} still ran there`,
        );
      }
    }
    await waitForNodes(c.api, c.clusterPath, { idleNodeCount: 2, runningNodeCount: 0 }, 60_000);
  }),
);
