import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import * as df from 'durable-functions';
import { durableJobSignals, durableLifecycles, raiseJobEvent } from '../../orchestrations/lifecycles.js';
import {
  type AgentEvent,
  NODE_EVENTS_QUEUE,
  parseAgentEvent,
  scaleSetNameFor,
  type TaskExit,
} from '../../shared/domain/agent-protocol.js';
import { JOB_EVENTS, type TaskExitedEvent } from '../../shared/jobs/job-run-deps.js';
import { parseWireTaskId } from '../../shared/jobs/launch-job-attempt.js';
import { resolveUnstagedTask } from '../../shared/jobs/resolve-unstaged-task.js';
import { applyAgentEvent } from '../../shared/nodes/apply-agent-event.js';
import { appServices, jobRunDeps } from '../dependencies.js';

// Agent → app: the shared `node-events` queue. A message that is not a valid event can never become one, so it
// is logged (its kind and the reason, never its body) and dropped: it must not loop through retries. Transient
// failures (Cosmos, the queue, the Durable client) are thrown, so the host retries the message.

/** Every cluster's scale-set name starts with this (a file server's does not). */
const CLUSTER_SCALE_SET_PREFIX = scaleSetNameFor('cluster', '');

export async function handleAgentEvent(message: unknown, client: DurableClient, context: InvocationContext) {
  const text = typeof message === 'string' ? message : JSON.stringify(message);
  const parsed = parseAgentEvent(text);
  if (!parsed.ok) {
    context.warn(`dropped a malformed message from ${NODE_EVENTS_QUEUE}: ${parsed.error}`);
    return;
  }
  const event = parsed.value;
  const { agentEvents, base } = await appServices();
  if (event.kind === 'unstaged' && event.node.scaleSetName.startsWith(CLUSTER_SCALE_SET_PREFIX)) {
    // The answer to taking a staged job back: the scheduling document's, not the node record's.
    await resolveUnstagedTask(await jobRunDeps(client), {
      clusterId: event.node.resourceId,
      scaleSetName: event.node.scaleSetName,
      instanceId: event.node.instanceId,
      jobId: event.jobId,
      attempt: event.attempt,
      outcome: event.outcome,
    });
  }
  // A task's exit goes to its job's lifecycle as a durable event (the wire task id names the job's uid); the
  // lifecycle ignores one of another attempt. Sent even when the node record ignored the event as a repeat: the
  // lifecycle's own bookkeeping makes a repeat harmless, and a lost event would leave the job running forever.
  // For the same reason the exits an agent re-reports (in heartbeats after an exit, and when it registers again
  // after an outage) are passed on too: the first to arrive ends the task, the others are ignored.
  // They are raised alongside the node record's update, not after it: the job's end (and its node's next job) waits
  // for them, and the record only notes the event was seen.
  const exits = event.kind === 'taskExited' ? [event] : 'exits' in event ? (event.exits ?? []) : [];
  const raising = Promise.allSettled(exits.map((exit) => reportExit(client, event.node, exit)));
  const result = await applyAgentEvent({ ...agentEvents, lifecycles: durableLifecycles(client, base) }, event);
  for (const raised of await raising) if (raised.status === 'rejected') throw raised.reason;
  // A node that became idle can take a queued job, and one that registered a new boot lost whatever a job ran on
  // it before (the pass tells that job at once): its cluster's scheduler runs a pass.
  if (
    result.outcome === 'applied' &&
    (result.node.state === 'idle' ||
      (event.kind === 'stopping' && result.node.stoppingSince !== undefined) ||
      (event.kind === 'registered' &&
        result.node.state === 'preparing' &&
        (result.node.pastBootIds?.length ?? 0) > 0)) &&
    event.node.scaleSetName.startsWith(CLUSTER_SCALE_SET_PREFIX)
  ) {
    await durableJobSignals(client, base).scheduleChanged(event.node.resourceId);
  }
  if (result.outcome === 'ignored') {
    context.log(
      `${event.kind} of ${event.node.scaleSetName}_${event.node.instanceId} (boot ${event.node.bootId}, seq ${event.seq}) ignored: ${result.reason}`,
    );
  } else if (result.outcome === 'applied') {
    context.log(`${event.kind} of ${event.node.scaleSetName}_${event.node.instanceId}: node ${result.node.state}`);
  }
}

async function reportExit(client: DurableClient, node: AgentEvent['node'], exit: TaskExit): Promise<void> {
  const task = parseWireTaskId(exit.taskId);
  if (!task) return;
  await raiseJobEvent(client, task.uid, JOB_EVENTS.taskExited, {
    jobId: exit.jobId,
    attempt: exit.attempt,
    taskId: exit.taskId,
    nodeId: `${node.scaleSetName}_${node.instanceId}`,
    exitCode: exit.exitCode,
    signal: exit.signal,
    ...(exit.error ? { error: exit.error } : {}),
  } satisfies TaskExitedEvent);
}

export function registerAgentEvents(): void {
  df.app.client.storageQueue('HandleAgentEvent', {
    queueName: NODE_EVENTS_QUEUE,
    connection: 'AzureWebJobsStorage',
    handler: handleAgentEvent,
  });
}
