import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { mapSecretValues } from '../domain/map-secret-values.js';

const PREFIX = 'sealed:v1:';

/**
 * Seals write-only values (job secrets, account keys, passwords) with AES-256-GCM before they reach Cosmos DB
 * or durable history, and opens them only where a node needs them. The key comes from app settings
 * (a Key Vault reference on Azure; a per-stack random key locally).
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the secrets key must be 32 bytes (base64 of 32 random bytes)');
    this.key = key;
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  open(sealed: string): string {
    if (!SecretBox.isSealed(sealed)) throw new Error('not a sealed value');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }

  sealAll<T>(value: T): T {
    return mapSecretValues(value, (secret) => this.seal(secret));
  }

  openAll<T>(value: T): T {
    return mapSecretValues(value, (secret) => (SecretBox.isSealed(secret) ? this.open(secret) : secret));
  }

  /**
   * A keyed hash of a request body, to recognise a repeated PUT without storing its secrets in clear: a plain
   * hash of a body with a short password could be brute-forced from the stored digest, a keyed one cannot.
   */
  fingerprint(value: unknown): string {
    return createHmac('sha256', this.key).update(canonicalJson(value)).digest('base64url');
  }
}

/** JSON with object keys sorted, so equal bodies hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
