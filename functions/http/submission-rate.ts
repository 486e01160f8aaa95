import { createHash } from 'node:crypto';
import type { HttpRequest } from '@azure/functions';
import { createApiError } from '../../shared/domain/api-errors.js';

// Per-principal limits on job submissions: a token bucket per caller (burst, then a steady rate), so one client
// cannot flood the queue, the store or the scheduler for everyone. Kept per app instance (in memory): on Azure the
// effective limit scales with the instance count, which is a ceiling on abuse, not a quota.

export interface RateSettings {
  /** Submissions a principal may make at once. */
  burst: number;
  /** Submissions per minute a principal gets back. */
  perMinute: number;
}

export const DEFAULT_SUBMISSION_RATE: RateSettings = { burst: 60, perMinute: 120 };
/** Buckets kept at most; the least recently used go first (a full bucket is the same as none). */
const MAX_PRINCIPALS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly settings: RateSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `principal`, or throws 429 with the seconds until one is back. */
  take(principal: string): void {
    const now = this.now();
    const perMs = this.settings.perMinute / 60_000;
    const bucket = this.buckets.get(principal) ?? { tokens: this.settings.burst, at: now };
    this.buckets.delete(principal);
    bucket.tokens = Math.min(this.settings.burst, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(principal, bucket);
      const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      throw createApiError('TooManyRequests', { retryAfterSeconds }, { retryAfterSeconds });
    }
    bucket.tokens -= 1;
    this.buckets.set(principal, bucket);
    if (this.buckets.size > MAX_PRINCIPALS) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

/**
 * Who a request is, for rate limiting: the identity the authorization point returned when it has one (a token's
 * subject or object id, an App Service principal's user id), else the function key it carried (hashed; a key is
 * a client), else its address.
 */
export function principalKey(request: HttpRequest, principal: unknown): string {
  if (principal !== null && typeof principal === 'object') {
    const p = principal as Record<string, unknown>;
    for (const field of ['id', 'objectId', 'oid', 'subject', 'sub', 'userId']) {
      const value = p[field];
      if (typeof value === 'string' && value !== '' && value !== 'unknown') return `principal:${value}`;
    }
  }
  const key = request.headers.get('x-functions-key') ?? new URL(request.url).searchParams.get('code');
  if (key) return `key:${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`;
  return 'anonymous';
}
