// Builds the agent package cloud-init downloads (renderAgentBootstrap's agentPackageUrl): a .tar.gz holding the
// compiled agent, the two zod-free contract modules it imports, a package.json marking ES modules, and
// install-agent.sh. No node_modules: the agent has no npm dependency at run time.
//   node dist/agent/pack-agent.js <out.tar.gz>
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const distRoot = fileURLToPath(new URL('../', import.meta.url));
const repoRoot = resolve(distRoot, '..');

/** The files of the package, relative to dist/ (the agent's own files and what it imports of shared/domain). */
export async function agentPackageFiles(): Promise<string[]> {
  const agentFiles: string[] = [];
  const walk = async (dir: string, rel: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name), `${rel}/${e.name}`);
      else if (e.name.endsWith('.js') && e.name !== 'pack-agent.js') agentFiles.push(`${rel}/${e.name}`);
    }
  };
  await walk(join(distRoot, 'agent'), 'agent');
  return [...agentFiles.sort(), 'shared/domain/agent-wire.js', 'shared/domain/vm-sizes.js'];
}

export async function packAgent(outFile: string): Promise<void> {
  const stage = await mkdtemp(join(tmpdir(), 'batchai-agent-pkg-'));
  try {
    for (const file of await agentPackageFiles()) {
      await mkdir(dirname(join(stage, 'dist', file)), { recursive: true });
      await cp(join(distRoot, file), join(stage, 'dist', file));
    }
    await writeFile(join(stage, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
    await cp(join(repoRoot, 'agent/install-agent.sh'), join(stage, 'install-agent.sh'));
    await promisify(execFile)('tar', ['-czf', resolve(outFile), '-C', stage, '.']);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node dist/agent/pack-agent.js <out.tar.gz>\n');
    process.exit(2);
  }
  await packAgent(out);
  process.stdout.write(`${out}\n`);
}
