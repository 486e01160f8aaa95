import type { Container } from '@azure/cosmos';
import type { OperationRecord, OperationStore } from '../stores/resource-store.js';

export class CosmosOperationStore implements OperationStore {
  constructor(private readonly container: Container) {}

  async put(operation: OperationRecord): Promise<void> {
    await this.container.items.upsert({ id: operation.operationId, ...operation });
  }

  async createIfAbsent(operation: OperationRecord): Promise<void> {
    try {
      await this.container.items.create({ id: operation.operationId, ...operation });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 409) throw err;
    }
  }

  async get(operationId: string): Promise<OperationRecord | undefined> {
    const { resource } = await this.container.item(operationId, operationId).read<OperationRecord & { id: string }>();
    if (!resource) return undefined;
    const { operationId: id, resourceId, action, status, startTime, endTime, error } = resource;
    return {
      operationId: id,
      resourceId,
      action,
      status,
      startTime,
      ...(endTime ? { endTime } : {}),
      ...(error ? { error } : {}),
    };
  }
}
