// Entry point run by the local stack supervisor:
//   node dist/local/token-issuer/main.js --port <n> --data-dir <stack data dir>
import { parseArgs } from 'node:util';
import { exitWhenParentDies } from '../stack/lifeline.js';
import { startIssuerServer } from './server.js';
import { loadOrCreateSigningKey } from './signing-key.js';

process.stdout.on('error', () => {});

const { values } = parseArgs({ options: { port: { type: 'string' }, 'data-dir': { type: 'string' } }, strict: true });
const port = Number(values.port ?? '0');
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0..65535');
if (!values['data-dir']) throw new Error('--data-dir is required');

const running = await startIssuerServer(port, await loadOrCreateSigningKey(values['data-dir']));
console.log(JSON.stringify({ msg: 'token issuer listening', issuer: running.issuer }));
const stop = async () => {
  await running.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
exitWhenParentDies(() => running.close(), 1000);
