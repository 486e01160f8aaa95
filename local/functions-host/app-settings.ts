// App settings are process.env, as on Azure. Binding settings may reference them as `%NAME%`; storage
// connections name a setting holding a connection string (default AzureWebJobsStorage).

export function resolveAppSettingRefs(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/%([^%\s]+)%/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) throw new Error(`App setting "${name}" referenced as %${name}% is not set`);
    return v;
  });
}

export function storageConnectionString(connection: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const name = typeof connection === 'string' && connection.trim() !== '' ? connection.trim() : 'AzureWebJobsStorage';
  const candidates = name.startsWith('AzureWebJobs') ? [name] : [name, `AzureWebJobs${name}`];
  const value = candidates.map((c) => env[c]).find((v) => v !== undefined && v !== '');
  if (!value) {
    throw new Error(`The storage connection app setting "${name}" is not set (looked for ${candidates.join(', ')})`);
  }
  return value;
}

/** A binding setting as a string with %app setting% references resolved; undefined when absent. */
export function stringSetting(binding: Record<string, unknown>, key: string): string | undefined {
  const v = binding[key];
  return typeof v === 'string' && v !== '' ? resolveAppSettingRefs(v) : undefined;
}
