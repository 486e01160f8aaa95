import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COSMOS_EMULATOR_KEY } from '../../shared/config/well-known-emulator-credentials.js';
import type { ServiceSpec } from '../stack/supervisor.js';

// The local server does not check the key, but the SDK needs one to sign requests; the emulator's
// famous public key makes its purpose obvious.
export const EMULATOR_KEY = COSMOS_EMULATOR_KEY;

export const cosmosCertPath = (dataDir: string): string => join(dataDir, 'cosmos', 'tls', 'cert.pem');

export function cosmosService(options: { dataDir: string; port: number; compactAfter?: number }): ServiceSpec {
  const certPath = cosmosCertPath(options.dataDir);
  let agent: Agent | undefined;
  return {
    name: 'cosmos',
    script: fileURLToPath(new URL('./main.js', import.meta.url)),
    args: [
      '--port',
      String(options.port),
      '--data-dir',
      join(options.dataDir, 'cosmos'),
      ...(options.compactAfter ? ['--compact-after', String(options.compactAfter)] : []),
    ],
    ports: [{ port: options.port, option: '--cosmos-port or --base-port' }],
    ready: () =>
      new Promise((resolve) => {
        let probeAgent: Agent;
        try {
          probeAgent = agent ?? new Agent({ ca: readFileSync(certPath) });
        } catch {
          resolve(false); // the certificate is made at the emulator's first start
          return;
        }
        const req = request(`https://127.0.0.1:${options.port}/`, { agent: probeAgent, timeout: 1000 }, (res) => {
          res.resume();
          if (res.statusCode === 200) agent = probeAgent; // keep only an agent that has trusted the server
          resolve(res.statusCode === 200);
        });
        req.once('timeout', () => req.destroy());
        req.once('error', () => resolve(false));
        req.end();
      }),
  };
}
