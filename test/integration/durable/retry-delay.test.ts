// The retry back-off formula (DurableTask.Core RetryInterceptor): first * coefficient^(attempt-1), capped by
// maxRetryInterval, no further attempts once retryTimeout has elapsed since the first attempt.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeRetryDelay } from '../../../local/durable/retry-delay.js';

describe('computeRetryDelay', () => {
  const base = { firstRetryIntervalInMilliseconds: 100, maxNumberOfAttempts: 10 };

  it('grows geometrically with the back-off coefficient', () => {
    const o = { ...base, backoffCoefficient: 2 };
    const delays = [1, 2, 3, 4].map((attempt) => computeRetryDelay({ options: o, attempt, firstAttemptAt: 0 }, 0));
    assert.deepEqual(
      delays.map((d) => d.delayMs),
      [100, 200, 400, 800],
    );
    assert.ok(delays.every((d) => !d.timedOut));
  });

  it('defaults the coefficient to 1 and caps at maxRetryInterval', () => {
    assert.equal(computeRetryDelay({ options: base, attempt: 5, firstAttemptAt: 0 }, 0).delayMs, 100);
    const capped = { ...base, backoffCoefficient: 10, maxRetryIntervalInMilliseconds: 2500 };
    assert.equal(computeRetryDelay({ options: capped, attempt: 4, firstAttemptAt: 0 }, 0).delayMs, 2500);
  });

  it('stops once retryTimeout has elapsed since the first attempt', () => {
    const o = { ...base, retryTimeoutInMilliseconds: 1000 };
    assert.equal(computeRetryDelay({ options: o, attempt: 2, firstAttemptAt: 0 }, 999).timedOut, false);
    assert.equal(computeRetryDelay({ options: o, attempt: 2, firstAttemptAt: 0 }, 1000).timedOut, true);
  });
});
