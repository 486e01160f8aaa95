// Test helper process: plays the compute emulator's part of a VM host. Spawns the agent (argv after this script)
// with an IPC channel and prints its pid; killing this process is the host dying under the agent.
import { spawn } from 'node:child_process';

const child = spawn(process.execPath, process.argv.slice(2), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
process.stdout.write(`${child.pid}\n`);
child.on('exit', (code) => process.exit(code ?? 1));
