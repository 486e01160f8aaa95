// Authenticating publishers the way an Azure custom topic does: `aeg-sas-key: <key>` or
// `aeg-sas-token: r=<resource>&e=<expiry>&s=<signature>` (what @azure/eventgrid's
// generateSharedAccessSignature produces). Pure: the clock is passed in.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type AuthResult = { ok: true } | { ok: false; message: string };

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

// The SDK writes expiry as "M/D/YYYY h:mm:ss AM|PM" in UTC.
export function parseServiceTime(s: string): number | undefined {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) (AM|PM)$/.exec(s);
  if (!m) return undefined;
  const [, mo, d, y, h, mi, se, ampm] = m;
  const hour12 = Number(h) % 12;
  const hour = ampm === 'PM' ? hour12 + 12 : hour12;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), hour, Number(mi), Number(se));
}

export function verifySasToken(token: string, key: string, now: number): AuthResult {
  const params = new URLSearchParams(token);
  const r = params.get('r');
  const e = params.get('e');
  const s = params.get('s');
  if (!r || !e || !s) return { ok: false, message: 'Malformed aeg-sas-token.' };
  const unsigned = `r=${encodeURIComponent(r)}&e=${encodeURIComponent(e)}`;
  const expected = createHmac('sha256', Buffer.from(key, 'base64')).update(unsigned).digest('base64');
  if (!safeEqual(expected, s)) return { ok: false, message: 'The aeg-sas-token signature is invalid.' };
  const expiry = parseServiceTime(e);
  if (expiry === undefined || expiry < now) return { ok: false, message: 'The aeg-sas-token has expired.' };
  return { ok: true };
}

export function authenticatePublisher(
  headers: { sasKey: string | undefined; sasToken: string | undefined },
  key: string,
  now: number,
): AuthResult {
  if (headers.sasKey !== undefined) {
    return safeEqual(headers.sasKey, key)
      ? { ok: true }
      : { ok: false, message: 'The request authorization key is not authorized for this topic.' };
  }
  if (headers.sasToken !== undefined) return verifySasToken(headers.sasToken, key, now);
  return { ok: false, message: 'The request is missing the aeg-sas-key or aeg-sas-token header.' };
}
