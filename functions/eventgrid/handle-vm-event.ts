import type { EventGridEvent, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import * as df from 'durable-functions';
import { durableLifecycles } from '../../orchestrations/lifecycles.js';
import { normalizeGridEvent } from '../../shared/domain/vm-events.js';
import { applyVmEvent } from '../../shared/nodes/apply-vm-event.js';
import { appServices } from '../dependencies.js';

// VM events from Event Grid → node records (shared/nodes/apply-vm-event.ts). The subscription may use the Event Grid
// or the CloudEvents 1.0 schema: the Functions host hands either over as it came (a CloudEvent keeps `type`,
// `source`, `time`, `specversion`), so the envelope is normalised here. Events that are not about one of our VMs
// (other resources on the topic, unknown or already removed VMs) are logged and acknowledged: only a transient
// failure (Cosmos, the Durable client) throws, so Event Grid retries the delivery.

export async function handleVmEvent(event: EventGridEvent, client: DurableClient, context: InvocationContext) {
  const normalized = normalizeGridEvent(event);
  if (typeof normalized === 'string') {
    context.warn(`dropped an Event Grid event: ${normalized}`);
    return;
  }
  const { base } = await appServices();
  const result = await applyVmEvent({ ...base, lifecycles: durableLifecycles(client, base) }, normalized);
  if ('ignored' in result) {
    context.log(`${normalized.eventType} ${normalized.id} ignored: ${result.ignored}`);
    return;
  }
  for (const n of result.nodes) {
    const vm = `${n.scaleSetName}_${n.instanceId}`;
    context.log(
      n.outcome === 'applied'
        ? `${normalized.eventType} ${normalized.id}: ${vm} ${n.state} (${n.reason})`
        : `${normalized.eventType} ${normalized.id} for ${vm} ignored: ${n.reason}`,
    );
  }
}

export function registerVmEvents(): void {
  df.app.client.eventGrid('HandleVmEvent', { handler: handleVmEvent });
}
