import { createRequire } from 'node:module';
import { exitWhenParentDies } from '../stack/lifeline.js';
import { makeLokiWritesDurable } from './durable-loki.js';

// Azurite reads its options from process.argv and installs its own SIGTERM handler that closes the
// servers (and flushes its Loki databases). We run it in-process behind the stack's lifeline so it
// also stops when the supervisor dies, and make its metadata writes durable before each response
// (durable-loki.ts) instead of on its 5 s autosave timer.
const require = createRequire(import.meta.url);
makeLokiWritesDurable({ azuritePackageJson: require.resolve('azurite/package.json') });
process.argv = [process.argv[0]!, 'azurite', ...process.argv.slice(2)];
exitWhenParentDies(() => {
  process.kill(process.pid, 'SIGTERM');
});
require('azurite/dist/src/azurite.js');
