import type { QueueServiceClient } from '@azure/storage-queue';
import { type AgentCommand, nodeCommandQueueName } from '../domain/agent-protocol.js';

// App → agent: each node reads its own Storage queue. Bodies are base64 JSON text, as the Functions queue
// extension writes and reads them, so one encoding serves both directions.

export interface NodeCommands {
  send(scaleSetName: string, instanceId: string, command: AgentCommand): Promise<void>;
  /** Removes a node's queue when the node is gone. */
  dropQueue(scaleSetName: string, instanceId: string): Promise<void>;
}

export class QueueNodeCommands implements NodeCommands {
  constructor(private readonly queues: QueueServiceClient) {}

  async send(scaleSetName: string, instanceId: string, command: AgentCommand): Promise<void> {
    const queue = this.queues.getQueueClient(nodeCommandQueueName(scaleSetName, instanceId));
    const body = Buffer.from(JSON.stringify(command), 'utf8').toString('base64');
    try {
      await queue.sendMessage(body);
    } catch (err) {
      // The agent creates its queue before it registers, so this is rare (e.g. a queue removed meanwhile).
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      await queue.createIfNotExists();
      await queue.sendMessage(body);
    }
  }

  async dropQueue(scaleSetName: string, instanceId: string): Promise<void> {
    await this.queues.getQueueClient(nodeCommandQueueName(scaleSetName, instanceId)).deleteIfExists();
  }
}
