import { gunzipSync, gzipSync } from 'node:zlib';
import { ApiError, type ApiErrorBody, createApiError } from '../shared/domain/api-errors.js';
import type { SecretBox } from '../shared/secrets/secret-box.js';

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

/** A poison queue entry: the message kept only sealed as a whole, beside why it was refused. */
export interface PoisonEntry extends RejectionReport {
  sealedMessage: string;
  /** How the sealed text holds the message: as is, or gzip then base64 (to fit a queue message). */
  encoding: 'text' | 'gzip+base64';
  /** Set when even compressed the message did not fit: only its beginning is kept. */
  truncated?: boolean;
  dequeueCount: number;
}

/** A queue message is at most 64 KB; the entry is base64-encoded on the queue, so its JSON must stay under 48 KB. */
const MAX_ENTRY_JSON = 46 * 1024;

export function poisonEntry(
  secrets: SecretBox,
  text: string,
  why: RejectionReport & { dequeueCount: number },
): PoisonEntry {
  const fits = (entry: PoisonEntry) => JSON.stringify(entry).length <= MAX_ENTRY_JSON;
  const plain: PoisonEntry = { sealedMessage: secrets.seal(text), encoding: 'text', ...why };
  if (fits(plain)) return plain;
  const compressed: PoisonEntry = {
    sealedMessage: secrets.seal(gzipSync(text).toString('base64')),
    encoding: 'gzip+base64',
    ...why,
  };
  if (fits(compressed)) return compressed;
  return { ...plain, sealedMessage: secrets.seal(text.slice(0, 24 * 1024)), truncated: true };
}

/** The message a poison entry keeps, for whoever holds the key (a person investigating, a test). */
export function openPoisonEntry(secrets: SecretBox, entry: PoisonEntry): string {
  const opened = secrets.open(entry.sealedMessage);
  return entry.encoding === 'gzip+base64' ? gunzipSync(Buffer.from(opened, 'base64')).toString('utf8') : opened;
}

/** Whether a poison queue message is an entry we wrote (sealed by our key), rather than raw text the host moved. */
export function isPoisonEntry(text: string, secrets: SecretBox): boolean {
  let json = text;
  if (!text.trimStart().startsWith('{')) json = Buffer.from(text, 'base64').toString('utf8');
  try {
    const value = JSON.parse(json) as Partial<PoisonEntry> | null;
    return (
      value !== null &&
      typeof value === 'object' &&
      typeof value.sealedMessage === 'string' &&
      secrets.opens(value.sealedMessage) &&
      typeof value.error === 'object' &&
      Object.keys(value).every((k) => POISON_ENTRY_KEYS.has(k))
    );
  } catch {
    return false;
  }
}

const POISON_ENTRY_KEYS = new Set([
  'sealedMessage',
  'encoding',
  'truncated',
  'rejectedAt',
  'channel',
  'source',
  'error',
  'dequeueCount',
]);
