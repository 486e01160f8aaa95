import type { ConfigInput } from '../eventgrid/config.js';

// On Azure, Event Grid subscriptions for an app's blob (source: EventGrid) and Event Grid triggers are made by
// the deployment templates. Locally the stack derives them from the functions the host actually loaded, so any
// v4 app run on the stack gets its events without configuration.

export interface FunctionMetadata {
  name: string;
  config: { bindings: Array<{ type: string; direction?: string; path?: string; source?: string }> };
}

export interface HostSystemKeys {
  blobs_extension?: string;
  eventgrid_extension?: string;
}

const subscriptionName = (prefix: string, fn: string) =>
  `${prefix}-${fn.replace(/[^A-Za-z0-9-]/g, '-')}`.slice(0, 64).padEnd(3, '-');

export function eventSubscriptionsFor(
  functions: readonly FunctionMetadata[],
  host: { baseUrl: string; systemKeys: HostSystemKeys },
): ConfigInput['subscriptions'] {
  const subscriptions: ConfigInput['subscriptions'] = [];
  for (const fn of functions) {
    for (const binding of fn.config.bindings) {
      if (binding.type === 'blobTrigger' && binding.source?.toLowerCase() === 'eventgrid' && binding.path) {
        const container = binding.path.split('/')[0]!;
        const code = host.systemKeys.blobs_extension
          ? `&code=${encodeURIComponent(host.systemKeys.blobs_extension)}`
          : '';
        subscriptions.push({
          name: subscriptionName('blobs', fn.name),
          source: { type: 'container', name: container },
          endpoint: `${host.baseUrl}/runtime/webhooks/blobs?functionName=Host.Functions.${fn.name}${code}`,
          filter: { includedEventTypes: ['Microsoft.Storage.BlobCreated'] },
        });
      }
      if (binding.type === 'eventGridTrigger') {
        const code = host.systemKeys.eventgrid_extension
          ? `&code=${encodeURIComponent(host.systemKeys.eventgrid_extension)}`
          : '';
        subscriptions.push({
          name: subscriptionName('events', fn.name),
          source: { type: 'topic' },
          endpoint: `${host.baseUrl}/runtime/webhooks/eventgrid?functionName=${fn.name}${code}`,
        });
      }
    }
  }
  return subscriptions;
}
