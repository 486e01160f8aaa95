// The delay before the next attempt of a CallActivityWithRetry / CallSubOrchestratorWithRetry, computed
// the way DurableTask.Core's RetryInterceptor does: first * coefficient^(attempt-1), capped by
// maxRetryInterval; once retryTimeout has elapsed since the first attempt there are no further attempts.

import type { RetryState } from './sqlite-store.js';

export function computeRetryDelay(retry: RetryState, now: number): { delayMs: number; timedOut: boolean } {
  const o = retry.options;
  const timeout = o.retryTimeoutInMilliseconds;
  if (
    timeout !== undefined &&
    timeout > 0 &&
    timeout < Number.MAX_SAFE_INTEGER &&
    now >= retry.firstAttemptAt + timeout
  ) {
    return { delayMs: 0, timedOut: true };
  }
  const coefficient = o.backoffCoefficient && o.backoffCoefficient > 0 ? o.backoffCoefficient : 1;
  let delay = o.firstRetryIntervalInMilliseconds * coefficient ** Math.max(0, retry.attempt - 1);
  const cap = o.maxRetryIntervalInMilliseconds;
  if (cap !== undefined && cap > 0 && delay > cap) delay = cap;
  return { delayMs: Math.max(0, Math.round(delay)), timedOut: false };
}
