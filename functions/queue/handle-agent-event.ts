import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import * as df from 'durable-functions';
import { durableJobSignals, durableLifecycles, raiseJobEvent } from '../../orchestrations/lifecycles.js';
import { NODE_EVENTS_QUEUE, parseAgentEvent, scaleSetNameFor } from '../../shared/domain/agent-protocol.js';
import { JOB_EVENTS, type TaskExitedEvent } from '../../shared/jobs/job-run-deps.js';
import { parseWireTaskId } from '../../shared/jobs/launch-job-attempt.js';
import { applyAgentEvent } from '../../shared/nodes/apply-agent-event.js';
import { appServices } from '../dependencies.js';

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
  // A task's exit goes to its job's lifecycle as a durable event (the wire task id names the job's uid); the
  // lifecycle ignores one of another attempt. Sent even when the node record ignored the event as a repeat: the
  // lifecycle's own bookkeeping makes a repeat harmless, and a lost event would leave the job running forever.
  // It is raised alongside the node record's update, not after it: the job's end (and its node's next job) waits
  // for it, and the record only notes the event was seen.
  const task = event.kind === 'taskExited' ? parseWireTaskId(event.taskId) : undefined;
  const raising =
    event.kind === 'taskExited' && task
      ? raiseJobEvent(client, task.uid, JOB_EVENTS.taskExited, {
          jobId: event.jobId,
          attempt: event.attempt,
          taskId: event.taskId,
          nodeId: `${event.node.scaleSetName}_${event.node.instanceId}`,
          exitCode: event.exitCode,
          signal: event.signal,
          ...(event.error ? { error: event.error } : {}),
        } satisfies TaskExitedEvent).then(
          () => undefined,
          (err: unknown) => ({ err }),
        )
      : undefined;
  const result = await applyAgentEvent({ ...agentEvents, lifecycles: durableLifecycles(client, base) }, event);
  const raised = await raising;
  if (raised) throw raised.err;
  // A node that became idle can take a queued job: its cluster's scheduler runs a pass.
  if (
    result.outcome === 'applied' &&
    result.node.state === 'idle' &&
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

export function registerAgentEvents(): void {
  df.app.client.storageQueue('HandleAgentEvent', {
    queueName: NODE_EVENTS_QUEUE,
    connection: 'AzureWebJobsStorage',
    handler: handleAgentEvent,
  });
}
