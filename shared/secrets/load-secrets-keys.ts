import type { TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import type { Settings } from '../config/settings.js';

// The sealing keys. On Azure they are the versions of one Key Vault secret, read with the app's managed identity:
// the newest enabled version seals, every enabled version opens. Rotating is adding a version (a new random
// 32-byte key, base64); retiring a key is disabling its version once nothing sealed with it is left. Locally
// they come straight from the settings (the stack's key file, see local/stack/secrets-keys.ts).

/** Enough for years of rotations; a vault listing more versions than this keeps the newest. */
const MAX_KEY_VERSIONS = 32;

export async function loadSecretsKeys(
  source: Settings['secretsKeys'],
  credential: () => TokenCredential,
): Promise<Buffer[]> {
  if (source.kind === 'keys') return source.keys;
  const client = new SecretClient(source.vaultUrl, credential());
  const versions: Array<{ version: string; createdOn: number }> = [];
  for await (const properties of client.listPropertiesOfSecretVersions(source.secretName)) {
    if (properties.enabled === false || !properties.version) continue;
    versions.push({ version: properties.version, createdOn: properties.createdOn?.getTime() ?? 0 });
  }
  versions.sort((a, b) => b.createdOn - a.createdOn);
  const keys: Buffer[] = [];
  for (const { version } of versions.slice(0, MAX_KEY_VERSIONS)) {
    const secret = await client.getSecret(source.secretName, { version });
    const key = Buffer.from(secret.value ?? '', 'base64');
    if (key.length !== 32) {
      throw new Error(`Key Vault secret ${source.secretName} version ${version} is not the base64 of 32 bytes`);
    }
    keys.push(key);
  }
  if (keys.length === 0) throw new Error(`Key Vault secret ${source.secretName} has no enabled version`);
  return keys;
}
