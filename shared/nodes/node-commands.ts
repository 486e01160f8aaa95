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
  private readonly created = new Set<string>();

  constructor(private readonly queues: QueueServiceClient) {}

  async send(scaleSetName: string, instanceId: string, command: AgentCommand): Promise<void> {
    const name = nodeCommandQueueName(scaleSetName, instanceId);
    const queue = this.queues.getQueueClient(name);
    if (!this.created.has(name)) {
      await queue.createIfNotExists();
      this.created.add(name);
    }
    await queue.sendMessage(Buffer.from(JSON.stringify(command), 'utf8').toString('base64'));
  }

  async dropQueue(scaleSetName: string, instanceId: string): Promise<void> {
    const name = nodeCommandQueueName(scaleSetName, instanceId);
    this.created.delete(name);
    await this.queues.getQueueClient(name).deleteIfExists();
  }
}
