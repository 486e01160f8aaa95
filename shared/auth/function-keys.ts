import { timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

// Function keys, checked by the app: its API routes are anonymous to the host (so that bearer-token clients
// reach it at all), so the app recognises the host's keys itself. The keys stay the host's: locally its
// keys.json (path passed by the stack), on Azure the host's Key Vault secret store
// (AzureWebJobsSecretStorageType=keyvault, secrets named `host--masterKey--master`, `host--functionKey--{name}`,
// `function--{functionName}--{name}`), read with the app's managed identity.

export interface KeyMatch {
  /** `master`, `host/{name}` or `function/{functionName}/{name}`: the principal's label. */
  keyName: string;
}

export interface FunctionKeySource {
  /** Which key `key` is, when it opens `functionName`; undefined when it is no such key. */
  match(functionName: string, key: string): Promise<KeyMatch | undefined>;
}

interface KeySet {
  master?: string | undefined;
  host: Record<string, string>;
  functions: Record<string, Record<string, string>>;
}

function equal(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

function matchIn(keys: KeySet, functionName: string, key: string): KeyMatch | undefined {
  if (key === '') return undefined;
  if (keys.master && equal(keys.master, key)) return { keyName: 'master' };
  for (const [name, value] of Object.entries(keys.host)) if (equal(value, key)) return { keyName: `host/${name}` };
  const own = Object.entries(keys.functions).find(([fn]) => fn.toLowerCase() === functionName.toLowerCase());
  for (const [name, value] of Object.entries(own?.[1] ?? {})) {
    if (equal(value, key)) return { keyName: `function/${functionName}/${name}` };
  }
  return undefined;
}

/** The local host's `keys.json` (re-read when it changes). */
export class KeysFileFunctionKeys implements FunctionKeySource {
  private cached: { mtimeMs: number; keys: KeySet } | undefined;

  constructor(private readonly path: string) {}

  async match(functionName: string, key: string): Promise<KeyMatch | undefined> {
    return matchIn(await this.load(), functionName, key);
  }

  private async load(): Promise<KeySet> {
    const { mtimeMs } = await stat(this.path);
    if (this.cached?.mtimeMs === mtimeMs) return this.cached.keys;
    const raw = JSON.parse(await readFile(this.path, 'utf8')) as {
      masterKey?: string;
      functionKeys?: Record<string, string>;
      functions?: Record<string, Record<string, string>>;
    };
    const keys: KeySet = { master: raw.masterKey, host: raw.functionKeys ?? {}, functions: raw.functions ?? {} };
    this.cached = { mtimeMs, keys };
    return keys;
  }
}

/** The host's Key Vault secret store on Azure; re-read every few minutes so rotated keys take effect. */
export class KeyVaultFunctionKeys implements FunctionKeySource {
  private static readonly REFRESH_MS = 5 * 60_000;
  private cached: { at: number; keys: Promise<KeySet> } | undefined;
  private readonly client: SecretClient;

  constructor(vaultUri: string) {
    this.client = new SecretClient(vaultUri, new DefaultAzureCredential());
  }

  async match(functionName: string, key: string): Promise<KeyMatch | undefined> {
    if (!this.cached || Date.now() - this.cached.at > KeyVaultFunctionKeys.REFRESH_MS) {
      const keys = this.load();
      keys.catch(() => {
        this.cached = undefined;
      });
      this.cached = { at: Date.now(), keys };
    }
    return matchIn(await this.cached.keys, functionName, key);
  }

  private async load(): Promise<KeySet> {
    const keys: KeySet = { host: {}, functions: {} };
    for await (const props of this.client.listPropertiesOfSecrets()) {
      const parts = props.name.split('--');
      if (props.enabled === false || !(parts[0] === 'host' || parts[0] === 'function')) continue;
      const value = (await this.client.getSecret(props.name)).value;
      if (!value) continue;
      if (parts[0] === 'host' && parts[1] === 'masterKey') keys.master = value;
      else if (parts[0] === 'host' && parts[1] === 'functionKey' && parts[2]) keys.host[parts[2]] = value;
      else if (parts[0] === 'function' && parts[1] && parts[2]) {
        keys.functions[parts[1]] ??= {};
        keys.functions[parts[1]]![parts[2]] = value;
      }
    }
    return keys;
  }
}

/** No keys: every key is refused (bearer tokens only). */
export const NO_FUNCTION_KEYS: FunctionKeySource = { match: async () => undefined };
