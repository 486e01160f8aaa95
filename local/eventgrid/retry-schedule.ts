// Azure Event Grid's delivery retry policy as a pure decision: given what just happened to one delivery,
// retry when, or dead-letter why. Times are in milliseconds; `timeScale` shrinks every duration (schedule,
// status back-offs and time-to-live) together so tests can run the real schedule in milliseconds.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Delay before retry n (n = 1 is the first retry): 10 s, 30 s, 1 m, 5 m, 10 m, 30 m, 1 h, then hourly. */
export const AZURE_RETRY_DELAYS_MS: readonly number[] = [
  10 * SECOND,
  30 * SECOND,
  1 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  30 * MINUTE,
  1 * HOUR,
];
const THEN_EVERY_MS = HOUR;

export interface RetryPolicy {
  /** Azure: 1..30, default 30. Counts every attempt, the first one included. */
  maxDeliveryAttempts: number;
  /** Azure: 1..1440 minutes, default 1440 (24 h), measured from when the event was published. */
  eventTimeToLiveMs: number;
}

export const AZURE_DEFAULT_RETRY_POLICY: RetryPolicy = { maxDeliveryAttempts: 30, eventTimeToLiveMs: 24 * HOUR };

export type DeadLetterReason = 'MaxDeliveryAttemptsExceeded' | 'TimeToLiveExceeded' | 'NonRetriableStatus';

export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'deadLetter'; reason: DeadLetterReason };

export interface FailedAttempt {
  /** Attempts made so far, including the one that just failed. */
  attempts: number;
  /** HTTP status, or undefined for a network error / timeout. */
  status: number | undefined;
  enqueuedAt: number;
  now: number;
}

// Azure waits longer after some answers than the schedule says (docs: "Retry schedule"):
// 401/403/404 → at least 5 minutes, 408 → 2 minutes, 503 → 30 seconds, anything else → 10 seconds.
function minimumDelayForStatus(status: number | undefined): number {
  switch (status) {
    case 401:
    case 403:
    case 404:
      return 5 * MINUTE;
    case 408:
      return 2 * MINUTE;
    case 503:
      return 30 * SECOND;
    default:
      return 10 * SECOND;
  }
}

/** 400 and 413 mean the payload itself is unacceptable; Azure dead-letters them at once. */
export function isNonRetriableStatus(status: number | undefined): boolean {
  return status === 400 || status === 413;
}

export function isSuccessStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status <= 299;
}

export function scheduledDelayMs(retryNumber: number): number {
  return AZURE_RETRY_DELAYS_MS[retryNumber - 1] ?? THEN_EVERY_MS;
}

export function decideAfterFailure(attempt: FailedAttempt, policy: RetryPolicy, timeScale: number): RetryDecision {
  if (isNonRetriableStatus(attempt.status)) return { kind: 'deadLetter', reason: 'NonRetriableStatus' };
  if (attempt.attempts >= policy.maxDeliveryAttempts)
    return { kind: 'deadLetter', reason: 'MaxDeliveryAttemptsExceeded' };
  const delayMs = Math.max(scheduledDelayMs(attempt.attempts), minimumDelayForStatus(attempt.status)) * timeScale;
  const expiresAt = attempt.enqueuedAt + policy.eventTimeToLiveMs * timeScale;
  if (attempt.now + delayMs > expiresAt) return { kind: 'deadLetter', reason: 'TimeToLiveExceeded' };
  return { kind: 'retry', delayMs };
}

export function isExpired(enqueuedAt: number, now: number, policy: RetryPolicy, timeScale: number): boolean {
  return now > enqueuedAt + policy.eventTimeToLiveMs * timeScale;
}
