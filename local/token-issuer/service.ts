import { fileURLToPath } from 'node:url';
import { httpAnswersWith } from '../stack/probes.js';
import type { ServiceSpec } from '../stack/supervisor.js';

// Its own small process (rather than a route of the Functions host) so that the app validates tokens against
// an issuer it does not control, as on Azure, and a restart of the host never changes the issuer's keys.
export function tokenIssuerService(options: { dataDir: string; port: number }): ServiceSpec {
  return {
    name: 'issuer',
    script: fileURLToPath(new URL('./main.js', import.meta.url)),
    args: ['--port', String(options.port), '--data-dir', options.dataDir],
    ports: [{ port: options.port, option: '--issuer-port or --base-port' }],
    ready: () => httpAnswersWith(`http://127.0.0.1:${options.port}/health`, 200),
  };
}
