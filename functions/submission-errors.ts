import { ApiError, type ApiErrorBody, createApiError } from '../shared/domain/api-errors.js';

/** Why a submission was refused, as recorded beside a rejected manifest or in a poison message. */
export interface RejectionReport {
  rejectedAt: string;
  channel: 'queue' | 'blob-manifest';
  source: string;
  error: ApiErrorBody;
}

/** A refusal that no retry can change (bad input); anything else is worth retrying. */
export function isPermanent(err: unknown): err is ApiError {
  return err instanceof ApiError && !err.retriable;
}

export function invalid(reason: string, target?: string): ApiError {
  return createApiError('InvalidRequestBody', { reason }, target ? { target } : {});
}

export function report(channel: RejectionReport['channel'], source: string, err: unknown, now: Date): RejectionReport {
  const error: ApiErrorBody =
    err instanceof ApiError
      ? err.toBody()
      : { code: 'InternalServerError', message: (err as Error)?.message ?? String(err) };
  return { rejectedAt: now.toISOString(), channel, source, error };
}
