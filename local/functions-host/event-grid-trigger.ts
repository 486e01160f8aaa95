// POST /runtime/webhooks/eventgrid?functionName=<name>: Event Grid (or CloudEvents) deliveries to an
// eventGrid-triggered function, one invocation per event in order. 200 when every invocation succeeded;
// 500 when one threw, so the sender retries the delivery; 400 for a malformed body; 404 for an unknown
// function. Requires the `eventgrid_extension` system key or the master key.

import type { FunctionInvoker, HostLogger, RegisteredFunction } from './contracts.js';
import { acceptDelivery } from './event-grid-delivery.js';
import { functionsTriggeredBy } from './functions-triggered-by.js';
import { emptyResponse, type HostRequest, type HostResponse, jsonResponse } from './http-types.js';
import type { HostKeys } from './keys.js';

export const EVENTGRID_WEBHOOK_PATH = '/runtime/webhooks/eventgrid';
export const EVENTGRID_SYSTEM_KEY = 'eventgrid_extension';

export function createEventGridWebhook(deps: {
  functions: readonly RegisteredFunction[];
  invoker: FunctionInvoker;
  keys: HostKeys;
  log: HostLogger;
}) {
  const byName = new Map(
    functionsTriggeredBy(deps.functions, 'eventGridTrigger').map((f) => [f.name.toLowerCase(), f] as const),
  );

  return async function handleEventGrid(req: HostRequest): Promise<HostResponse> {
    const accepted = acceptDelivery(req, deps.keys, EVENTGRID_SYSTEM_KEY);
    if ('response' in accepted) return accepted.response;
    const name = req.query.get('functionName') ?? '';
    const fn = byName.get(name.toLowerCase());
    if (!fn) return jsonResponse(404, { error: { message: `No eventGrid-triggered function named "${name}"` } });
    for (const event of accepted.events) {
      const result = await deps.invoker.invoke(fn.name, { json: JSON.stringify(event) }, {});
      if (!result.ok) {
        deps.log.warn('Event Grid-triggered function failed; the delivery will be retried by the sender', {
          functionName: fn.name,
          eventId: event.id,
          error: result.error.message,
        });
        return emptyResponse(500);
      }
    }
    return emptyResponse(200);
  };
}
