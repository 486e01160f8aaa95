import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import * as df from 'durable-functions';
import { durableLifecycles } from '../../orchestrations/lifecycles.js';
import { NODE_EVENTS_QUEUE, parseAgentEvent } from '../../shared/domain/agent-protocol.js';
import { applyAgentEvent } from '../../shared/nodes/apply-agent-event.js';
import { appServices } from '../dependencies.js';

// Agent → app: the shared `node-events` queue. A message that is not a valid event can never become one, so it
// is logged (its kind and the reason, never its body) and dropped: it must not loop through retries. Transient
// failures (Cosmos, the queue, the Durable client) are thrown, so the host retries the message.

export async function handleAgentEvent(message: unknown, client: DurableClient, context: InvocationContext) {
  const text = typeof message === 'string' ? message : JSON.stringify(message);
  const parsed = parseAgentEvent(text);
  if (!parsed.ok) {
    context.warn(`dropped a malformed message from ${NODE_EVENTS_QUEUE}: ${parsed.error}`);
    return;
  }
  const event = parsed.value;
  const { agentEvents, base } = await appServices();
  const result = await applyAgentEvent({ ...agentEvents, lifecycles: durableLifecycles(client, base) }, event);
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
