/**
 * Optimistic-concurrency retries: how many times a read-modify-write may lose its etag race, and how long to wait
 * before the next try.
 *
 * Without a pause, N writers racing on one item retry in lockstep: each round only one wins, so the last writer needs
 * N rounds and a fixed cap below N fails it even though nothing is wrong. A short, growing, random pause spreads the
 * writers out so most rounds have a single contender.
 */
export const MAX_CONFLICT_ATTEMPTS = 60;

/** Full-jitter exponential back-off: 0..min(2^attempt, 200) ms. */
export function conflictBackoff(attempt: number): Promise<void> {
  const ceiling = Math.min(2 ** Math.min(attempt, 8), 200);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}
