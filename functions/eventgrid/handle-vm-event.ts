import type { EventGridEvent, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import * as df from 'durable-functions';
import { durableLifecycles } from '../../orchestrations/lifecycles.js';
import { applyVmEvent } from '../../shared/nodes/apply-vm-event.js';
import { appServices } from '../dependencies.js';

// VM health events from Event Grid (Azure Resource Notifications: ResourceAnnotated, AvailabilityStatusChanged)
// → the node is lost, its lifecycle replaces it. Other events on the topic are not ours and are acknowledged.
export async function handleVmEvent(event: EventGridEvent, client: DurableClient, context: InvocationContext) {
  const { base } = await appServices();
  const result = await applyVmEvent(
    { ...base, lifecycles: durableLifecycles(client, base) },
    { eventType: event.eventType, subject: event.subject, data: event.data },
  );
  if (result.outcome === 'lost') context.log(`${event.subject}: node lost (${result.reason})`);
}

export function registerVmEvents(): void {
  df.app.client.eventGrid('HandleVmEvent', { handler: handleVmEvent });
}
