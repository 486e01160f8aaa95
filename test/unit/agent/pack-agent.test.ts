import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { packAgent } from '../../../agent/pack-agent.js';

const run = promisify(execFile);

test('the agent package runs from its own files, with no node_modules', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agent-pkg-test-'));
  try {
    await packAgent(join(dir, 'agent.tar.gz'));
    await run('tar', ['-xzf', join(dir, 'agent.tar.gz'), '-C', dir]);
    assert.ok((await stat(join(dir, 'install-agent.sh'))).mode & 0o100, 'install-agent.sh is executable');
    // Every import resolves inside the package: the agent gets as far as reading its (missing) configuration.
    const result = await run(process.execPath, [join(dir, 'dist/agent/main.js'), '--config', join(dir, 'none.json')], {
      cwd: dir,
      env: { PATH: process.env.PATH },
    }).catch((err: { code: number; stderr: string }) => err);
    assert.equal((result as { code?: number }).code, 1);
    assert.match((result as { stderr: string }).stderr, /cannot read the agent configuration/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
