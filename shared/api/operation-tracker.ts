import type { OperationRecord } from '../stores/resource-store.js';
import type { ApiDeps } from './api-deps.js';

/** Starts tracking a long-running operation; its id goes into the Location/Azure-AsyncOperation URLs. */
export async function beginOperation(
  deps: Pick<ApiDeps, 'operations' | 'now' | 'newId'>,
  resourceId: string,
  action: OperationRecord['action'],
  status: OperationRecord['status'] = 'InProgress',
): Promise<OperationRecord> {
  const now = deps.now().toISOString();
  const operation: OperationRecord = {
    operationId: deps.newId(),
    resourceId,
    action,
    status,
    startTime: now,
    ...(status === 'InProgress' ? {} : { endTime: now }),
  };
  await deps.operations.put(operation);
  return operation;
}

export async function completeOperation(
  deps: Pick<ApiDeps, 'operations' | 'now'>,
  operationId: string,
  outcome: { status: 'Succeeded' } | { status: 'Failed' | 'Canceled'; error: { code: string; message: string } },
): Promise<void> {
  const current = await deps.operations.get(operationId);
  if (current?.status !== 'InProgress') return; // already finished: completion is idempotent
  await deps.operations.put({ ...current, ...outcome, endTime: deps.now().toISOString() });
}
