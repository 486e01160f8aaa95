// Host and function keys, persisted in `<dataDir>/keys.json` and generated with crypto randomness on
// first start (missing entries are added later, existing ones never change):
//
//   { "masterKey": "…",
//     "functionKeys": { "default": "…" },                        // host-level function keys: any function
//     "functions": { "<functionName>": { "default": "…" } },     // per-function keys
//     "systemKeys": { "eventgrid_extension": "…", "blobs_extension": "…", "durabletask_extension": "…" } }
//
// Keys are accepted from the `x-functions-key` header or the `code` query parameter, as on Azure.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface KeysFile {
  masterKey: string;
  functionKeys: Record<string, string>;
  functions: Record<string, Record<string, string>>;
  systemKeys: Record<string, string>;
}

export type AuthLevel = 'anonymous' | 'function' | 'admin';

export function newKey(): string {
  // URL-safe so keys can go into `code=` unescaped.
  return randomBytes(40).toString('base64url');
}

function keyEquals(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'string');
}

export class HostKeys {
  private constructor(
    readonly file: string,
    private readonly keys: KeysFile,
  ) {}

  /** Loads `<dataDir>/keys.json`, adding any missing key (master, default, per-function, system). */
  static async load(dataDir: string, functionNames: readonly string[], systemKeyNames: readonly string[]) {
    const file = path.join(dataDir, 'keys.json');
    let existing: Partial<KeysFile> = {};
    try {
      existing = JSON.parse(await readFile(file, 'utf8')) as Partial<KeysFile>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new Error(`The keys file ${file} is unreadable or not JSON: ${(err as Error).message}`);
      }
    }
    const keys: KeysFile = {
      masterKey: typeof existing.masterKey === 'string' && existing.masterKey ? existing.masterKey : newKey(),
      functionKeys: isStringRecord(existing.functionKeys) ? { ...existing.functionKeys } : {},
      functions: {},
      systemKeys: isStringRecord(existing.systemKeys) ? { ...existing.systemKeys } : {},
    };
    if (existing.functions && typeof existing.functions === 'object') {
      for (const [name, fk] of Object.entries(existing.functions))
        if (isStringRecord(fk)) keys.functions[name] = { ...fk };
    }
    if (Object.keys(keys.functionKeys).length === 0) keys.functionKeys.default = newKey();
    for (const name of functionNames) {
      const fk = keys.functions[name] ?? {};
      if (Object.keys(fk).length === 0) fk.default = newKey();
      keys.functions[name] = fk;
    }
    for (const name of systemKeyNames) keys.systemKeys[name] ??= newKey();

    const text = `${JSON.stringify(keys, null, 2)}\n`;
    if (text !== JSON.stringify(existing, null, 2).concat('\n')) {
      await mkdir(dataDir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, file);
    }
    return new HostKeys(file, keys);
  }

  get masterKey(): string {
    return this.keys.masterKey;
  }

  systemKey(name: string): string | undefined {
    return this.keys.systemKeys[name];
  }

  /** The default host-level function key (accepted by every function with authLevel 'function'). */
  get defaultFunctionKey(): string {
    return this.keys.functionKeys.default ?? Object.values(this.keys.functionKeys)[0]!;
  }

  isMaster(key: string | undefined): boolean {
    return key !== undefined && keyEquals(key, this.keys.masterKey);
  }

  /** Whether `key` opens an HTTP-triggered function with the given authLevel. */
  allowsFunction(functionName: string, level: AuthLevel, key: string | undefined): boolean {
    if (level === 'anonymous') return true;
    if (key === undefined || key === '') return false;
    if (this.isMaster(key)) return true;
    if (level === 'admin') return false;
    const candidates = [
      ...Object.values(this.keys.functionKeys),
      ...Object.values(this.keys.functions[functionName] ?? {}),
    ];
    return candidates.some((k) => keyEquals(k, key));
  }

  /** Whether `key` opens a system webhook (e.g. eventgrid_extension): that system key or the master key. */
  allowsSystem(systemKeyName: string, key: string | undefined): boolean {
    if (key === undefined || key === '') return false;
    if (this.isMaster(key)) return true;
    const expected = this.keys.systemKeys[systemKeyName];
    return expected !== undefined && keyEquals(expected, key);
  }
}

/** The key a request presents: `x-functions-key` header first, then the `code` query parameter. */
export function presentedKey(headers: Record<string, string>, query: URLSearchParams): string | undefined {
  return headers['x-functions-key'] ?? query.get('code') ?? undefined;
}
