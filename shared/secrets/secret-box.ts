import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { mapSecretValues } from '../domain/map-secret-values.js';

const V1 = 'sealed:v1:';
const V2 = 'sealed:v2:';

/** A short public name of a key (a hash of it): sealed values say which key opens them. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('batchai-secrets-key-id\0').update(key).digest('base64url').slice(0, 12);
}

/**
 * Seals write-only values (job secrets, account keys, passwords) with AES-256-GCM before they reach Cosmos DB,
 * durable history, queues or logs, and opens them only where a node needs them. Keys rotate: the first key seals
 * (`sealed:v2:<key id>:...`), every key opens, so values sealed before a rotation stay readable while their key is
 * kept, and are re-sealed with the current key on their next write. `sealed:v1:` values (no key id, from before
 * rotation existed) are opened by whichever key authenticates them. The keys come from Key Vault on Azure and from
 * the stack's key file locally (see load-secrets-keys.ts).
 */
export class SecretBox {
  private readonly keys: ReadonlyArray<{ id: string; key: Buffer }>;
  private readonly fingerprintKey: Buffer;

  /**
   * `keys[0]` seals; all of them open. A single key is a ring of one. `onSecret` hears every plain value sealed or
   * opened (the log redactor learns the app's secrets from it).
   */
  constructor(
    keys: Buffer | readonly Buffer[],
    private readonly onSecret: (plain: string) => void = () => {},
  ) {
    const list = Buffer.isBuffer(keys) ? [keys] : [...keys];
    if (list.length === 0) throw new Error('at least one secrets key is needed');
    for (const key of list) {
      if (key.length !== 32) throw new Error('the secrets key must be 32 bytes (base64 of 32 random bytes)');
    }
    this.keys = list.map((key) => ({ id: keyId(key), key }));
    // Fingerprints must stay comparable across rotations, so they are keyed by the oldest key still kept.
    this.fingerprintKey = list[list.length - 1]!;
  }

  static isSealed(value: string): boolean {
    return value.startsWith(V1) || value.startsWith(V2);
  }

  /** The id of the key that seals now. */
  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  /** The id of the key a sealed value was sealed with (undefined for v1 values, which carry none). */
  static keyIdOf(sealed: string): string | undefined {
    if (!sealed.startsWith(V2)) return undefined;
    return sealed.slice(V2.length, sealed.indexOf(':', V2.length));
  }

  seal(plain: string): string {
    this.onSecret(plain);
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${V2}${id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  open(sealed: string): string {
    if (sealed.startsWith(V2)) {
      const rest = sealed.slice(V2.length);
      const colon = rest.indexOf(':');
      const id = rest.slice(0, colon);
      const entry = this.keys.find((k) => k.id === id);
      if (colon < 0 || !entry) throw new Error(`no secrets key ${id} to open this value (was its key retired?)`);
      return this.heard(decrypt(entry.key, rest.slice(colon + 1)));
    }
    if (!sealed.startsWith(V1)) throw new Error('not a sealed value');
    for (const { key } of this.keys) {
      try {
        return this.heard(decrypt(key, sealed.slice(V1.length)));
      } catch {
        // the authentication tag says this key did not seal it: try the next one
      }
    }
    throw new Error('no secrets key opens this value');
  }

  private heard(plain: string): string {
    this.onSecret(plain);
    return plain;
  }

  /** Whether a value was sealed by one of our keys (and is intact). */
  opens(sealed: string): boolean {
    try {
      this.open(sealed);
      return true;
    } catch {
      return false;
    }
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
    return createHmac('sha256', this.fingerprintKey).update(canonicalJson(value)).digest('base64url');
  }
}

function decrypt(key: Buffer, encoded: string): string {
  const raw = Buffer.from(encoded, 'base64url');
  // A full 16-byte tag, always: GCM would otherwise accept a truncated one, which is easier to forge.
  if (raw.length < 28) throw new Error('not a sealed value (too short)');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12), { authTagLength: 16 });
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
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
