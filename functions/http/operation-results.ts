import { getResource } from '../../shared/api/read-resources.js';
import { createApiError } from '../../shared/domain/api-errors.js';
import { parseBatchAiResourceId } from '../../shared/domain/resource-id.js';
import { type ArmHandler, accepted, json, operationUrls } from './arm-http.js';

const OPERATION_ID = /^[A-Za-z0-9-]{1,64}$/;

const HTTP_STATUS_OF_FAILURE: Record<string, number> = { InternalServerError: 500, Conflict: 409, BadRequest: 400 };

/** An operation is only visible under its own subscription and location. */
async function operationInScope(call: Parameters<ArmHandler>[0]) {
  const operationId = call.params.operationId ?? '';
  // Ids are ours (UUIDs); anything else names no operation, and must not reach the store as an item id ('/', '#',
  // '?' and '\\' are not allowed in Cosmos ids and used to surface as a 500).
  if (!OPERATION_ID.test(operationId)) {
    throw createApiError('ResourceNotFound', { type: 'operation', name: operationId.slice(0, 64) });
  }
  const operation = await call.deps.operations.get(operationId);
  const subscription = `/subscriptions/${call.params.subscriptionId!.toLowerCase()}/`;
  const location = call.deps.settings.compute.location.toLowerCase();
  if (
    !operation?.resourceId.toLowerCase().startsWith(subscription) ||
    call.params.location!.toLowerCase() !== location
  ) {
    throw createApiError('ResourceNotFound', { type: 'operation', name: call.params.operationId! });
  }
  return operation;
}

/** Location polling: 202 while in progress; then the PUT's resource (200), or 204/200 for delete/terminate. */
export const getOperationResult: ArmHandler = async (call) => {
  const operation = await operationInScope(call);
  if (operation.status === 'InProgress') return accepted(call, operation.operationId);
  if (operation.status !== 'Succeeded') {
    const error = operation.error ?? { code: 'InternalServerError', message: 'The operation failed.' };
    return json(HTTP_STATUS_OF_FAILURE[error.code] ?? 500, { error });
  }
  if (operation.action === 'delete') return { status: 204 };
  if (operation.action === 'terminate') return { status: 200 };
  const id = parseBatchAiResourceId(operation.resourceId);
  if (!id.ok) throw new Error(`operation ${operation.operationId} names no resource: ${id.reason}`);
  return json(200, await getResource(call.deps, id.value));
};

/** Azure-AsyncOperation polling: always 200 with the operation's status. */
export const getOperationStatus: ArmHandler = async (call) => {
  const operation = await operationInScope(call);
  const { pathname } = new URL(operationUrls(call, operation.operationId).asyncOperation);
  return json(200, {
    id: pathname.slice(pathname.indexOf('/subscriptions/')),
    name: operation.operationId,
    status: operation.status,
    startTime: operation.startTime,
    ...(operation.endTime ? { endTime: operation.endTime } : {}),
    ...(operation.error ? { error: operation.error } : {}),
  });
};
