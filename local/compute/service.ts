// How the local stack runs the compute emulator: the supervisor's ServiceSpec. Only the supervisor imports this.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpAnswersWith } from '../stack/probes.js';
import type { ServiceSpec } from '../stack/supervisor.js';

export const computeDataDir = (dataDir: string): string => join(dataDir, 'compute');

/** The ARM endpoint the app's ComputeManagementClient talks to (ARM_ENDPOINT). */
export const computeEndpoint = (port: number): string => `http://127.0.0.1:${port}/`;

export function computeService(options: {
  dataDir: string;
  port: number;
  storageConnectionString: string;
  /** The node agent each VM runs (default: this repository's dist/agent/main.js). */
  agentScript?: string;
  bootDelayMs?: number;
  coreQuota?: number;
  pageSize?: number;
  /** Time between a Spot eviction's Preempt notice and the shutdown (default 0). */
  evictionNoticeMs?: number;
  /** Event Grid's custom topic, known from the port plan before Event Grid runs (the outbox waits for it). */
  eventGrid?: { endpoint: string; topicKey: string };
  after?: string[];
}): ServiceSpec {
  const opt = (flag: string, v: number | string | undefined) => (v === undefined ? [] : [flag, String(v)]);
  return {
    name: 'compute',
    script: fileURLToPath(new URL('./main.js', import.meta.url)),
    args: [
      '--port',
      String(options.port),
      '--data-dir',
      computeDataDir(options.dataDir),
      ...opt('--agent-script', options.agentScript),
      ...opt('--boot-delay-ms', options.bootDelayMs),
      ...opt('--core-quota', options.coreQuota),
      ...opt('--page-size', options.pageSize),
      ...opt('--eviction-notice-ms', options.evictionNoticeMs),
      ...opt('--eventgrid-endpoint', options.eventGrid?.endpoint),
    ],
    env: {
      AzureWebJobsStorage: options.storageConnectionString,
      ...(options.eventGrid ? { EVENTGRID_TOPIC_KEY: options.eventGrid.topicKey } : {}),
    },
    ports: [{ port: options.port, option: '--compute-port or --base-port' }],
    ready: () => httpAnswersWith(`http://127.0.0.1:${options.port}/health`, 200),
    after: options.after ?? ['azurite'],
  };
}
