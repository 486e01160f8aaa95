// The subscriptions file the supervisor passes with --config. Parsed once at start; errors name the field.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { EventSchema } from './event-schemas.js';
import type { SubscriptionFilter } from './filters.js';
import type { RetryPolicy } from './retry-schedule.js';

const filterSchema = z.object({
  includedEventTypes: z.array(z.string().min(1)).nullish(),
  subjectBeginsWith: z.string().optional(),
  subjectEndsWith: z.string().optional(),
  isSubjectCaseSensitive: z.boolean().optional(),
});

const sourceSchema = z.discriminatedUnion('type', [
  // A blob container in the Azurite account, watched for BlobCreated/BlobDeleted.
  z.object({ type: z.literal('container'), name: z.string().regex(/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/) }),
  // The emulator's custom topic (POST /api/events).
  z.object({ type: z.literal('topic') }),
]);

const subscriptionSchema = z.object({
  // Azure: 3-64 characters, letters, digits and hyphens.
  name: z.string().regex(/^[A-Za-z0-9-]{3,64}$/),
  source: sourceSchema,
  endpoint: z.url({ protocol: /^https?$/ }),
  schema: z.enum(['EventGridSchema', 'CloudEventSchemaV1_0']).default('EventGridSchema'),
  filter: filterSchema.prefault({}),
  retryPolicy: z
    .object({
      maxDeliveryAttempts: z.number().int().min(1).max(30).default(30),
      eventTimeToLiveInMinutes: z.number().int().min(1).max(1440).default(1440),
    })
    .prefault({}),
});

const configSchema = z.object({
  subscriptionId: z.string().default('00000000-0000-0000-0000-000000000000'),
  resourceGroup: z.string().default('batchai-local'),
  topicName: z.string().default('local-events'),
  /** How often each watched container is listed. */
  pollIntervalMs: z.number().int().min(10).max(60_000).default(100),
  /** Multiplies every retry delay and the event time-to-live; tests use e.g. 0.001. */
  retryTimeScale: z.number().positive().max(1).default(1),
  /** Azure waits 30 s for a webhook to answer. */
  deliveryTimeoutMs: z.number().int().positive().default(30_000),
  maxConcurrentDeliveries: z.number().int().min(1).max(256).default(32),
  subscriptions: z.array(subscriptionSchema),
});

export type SubscriptionSource = { type: 'container'; name: string } | { type: 'topic' };

export interface Subscription {
  name: string;
  source: SubscriptionSource;
  endpoint: string;
  schema: EventSchema;
  filter: SubscriptionFilter;
  retryPolicy: RetryPolicy;
}

export interface EmulatorConfig {
  subscriptionId: string;
  resourceGroup: string;
  topicName: string;
  pollIntervalMs: number;
  retryTimeScale: number;
  deliveryTimeoutMs: number;
  maxConcurrentDeliveries: number;
  subscriptions: Subscription[];
}

export type ConfigInput = z.input<typeof configSchema>;

export function parseConfig(raw: unknown): EmulatorConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`Invalid Event Grid emulator config: ${z.prettifyError(parsed.error)}`);
  const c = parsed.data;
  const seen = new Set<string>();
  for (const s of c.subscriptions) {
    // Azure subscription names are case-insensitive.
    const key = s.name.toLowerCase();
    if (seen.has(key)) throw new Error(`Invalid Event Grid emulator config: duplicate subscription name "${s.name}"`);
    seen.add(key);
  }
  return {
    ...c,
    subscriptions: c.subscriptions.map((s) => ({
      name: s.name,
      source: s.source,
      endpoint: s.endpoint,
      schema: s.schema,
      filter: s.filter,
      retryPolicy: {
        maxDeliveryAttempts: s.retryPolicy.maxDeliveryAttempts,
        eventTimeToLiveMs: s.retryPolicy.eventTimeToLiveInMinutes * 60_000,
      },
    })),
  };
}

export async function loadConfig(path: string): Promise<EmulatorConfig> {
  const text = await readFile(path, 'utf8');
  return parseConfig(JSON.parse(text));
}

/** Containers named by any subscription: these are the ones the watcher lists. */
export function watchedContainers(config: EmulatorConfig): string[] {
  const names = new Set<string>();
  for (const s of config.subscriptions) if (s.source.type === 'container') names.add(s.source.name);
  return [...names].sort();
}

export function customTopicId(config: EmulatorConfig): string {
  return `/subscriptions/${config.subscriptionId}/resourceGroups/${config.resourceGroup}/providers/Microsoft.EventGrid/topics/${config.topicName}`;
}
