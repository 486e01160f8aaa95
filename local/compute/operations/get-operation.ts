// GET …/providers/Microsoft.Compute/locations/{location}/operations/{id}: the Azure-AsyncOperation status
// resource; with ?monitor=true it is the Location URL (202 while running, 200 when done).
import { armErrorResponse, armErrors } from '../arm-errors.js';
import type { Compute } from '../compute.js';
import { type HttpRequest, type HttpResponse, json } from '../http-types.js';
import { operationView } from '../scale-set-model.js';

export function getOperation(c: Compute, req: HttpRequest, operationId: string): HttpResponse {
  const op = c.store.getOperation(operationId);
  if (!op) return armErrorResponse(404, armErrors.operationNotFound(operationId));
  if (req.query.get('monitor') !== 'true') return json(200, operationView(op));
  if (op.status === 'InProgress')
    return {
      statusCode: 202,
      headers: {
        Location: `${req.baseUrl}${req.path}?${req.query.toString()}`,
        'Retry-After': String(c.settings.retryAfterSeconds),
      },
    };
  if (op.status === 'Failed' && op.error) return armErrorResponse(409, op.error);
  return { statusCode: 200 };
}
