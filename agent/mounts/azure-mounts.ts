import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MountSpec } from '../../shared/domain/agent-protocol.js';
import type { MountContext } from './mount-context.js';

// The mount commands of an Azure VM (Ubuntu image with blobfuse2, cifs-utils and nfs-common installed by the agent
// package's install script). Argument vectors, never shell strings; account keys go to root-only files, never on a
// command line (where `ps` would show them) or in the agent's log.

const CREDENTIALS_DIR = '/etc/batchai/credentials';

export async function azureMountCommands(
  spec: Exclude<MountSpec, { kind: 'unmanaged' }>,
  mountPath: string,
  ctx: MountContext,
): Promise<string[][]> {
  const safe = mountPath.replace(/[^A-Za-z0-9]+/g, '_');
  switch (spec.kind) {
    case 'azureBlob': {
      const config = join(CREDENTIALS_DIR, `blobfuse2${safe}.yaml`);
      const auth = spec.accountKey
        ? ['  mode: key', `  account-key: ${ctx.open(spec.accountKey)}`]
        : ['  mode: msi', ...(ctx.identityClientId ? [`  appid: ${ctx.identityClientId}`] : [])];
      const endpoint = spec.blobEndpoint.replace(/\/+$/, '');
      await writeSecretFile(
        config,
        [
          'allow-other: true',
          'components: [libfuse, file_cache, attr_cache, azstorage]',
          'file_cache:',
          `  path: /mnt/resource/blobfusetmp${safe}`,
          'azstorage:',
          '  type: block',
          `  account-name: ${spec.accountName}`,
          `  container: ${spec.containerName}`,
          `  endpoint: ${endpoint}`,
          ...auth,
          '',
        ].join('\n'),
      );
      const extra = spec.mountOptions ? spec.mountOptions.split(/\s+/).filter(Boolean) : [];
      return [['blobfuse2', 'mount', mountPath, `--config-file=${config}`, ...extra]];
    }
    case 'azureFiles': {
      const url = new URL(spec.azureFileUrl);
      const credentials = join(CREDENTIALS_DIR, `cifs${safe}.cred`);
      await writeSecretFile(
        credentials,
        `username=${spec.accountName}\npassword=${spec.accountKey ? ctx.open(spec.accountKey) : ''}\n`,
      );
      const options = [
        'vers=3.0',
        `credentials=${credentials}`,
        `dir_mode=${spec.directoryMode}`,
        `file_mode=${spec.fileMode}`,
        'serverino',
        'nofail',
      ].join(',');
      return [['mount', '-t', 'cifs', `//${url.host}${url.pathname.replace(/\/+$/, '')}`, mountPath, '-o', options]];
    }
    case 'fileServer': {
      const source = `${spec.serverAddress}:${spec.exportPath}${spec.sourceDirectory ? `/${spec.sourceDirectory}` : ''}`;
      return [['mount', '-t', 'nfs', '-o', spec.mountOptions || 'rw,hard,intr', source, mountPath]];
    }
  }
}

async function writeSecretFile(path: string, content: string): Promise<void> {
  await mkdir(CREDENTIALS_DIR, { recursive: true, mode: 0o700 });
  await writeFile(path, content, { mode: 0o600 });
}

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  stderrTail: string;
}

export function runMountCommand(argv: string[]): Promise<CommandResult> {
  return collect(spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] }));
}

/** The user's mountCommand, as given, through bash, with $AZ_BATCHAI_MOUNT_ROOT set. */
export function runUnmanagedMount(mountCommand: string, env: NodeJS.ProcessEnv, cwd: string): Promise<CommandResult> {
  return collect(spawn('bash', ['-c', mountCommand], { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] }));
}

function collect(child: ReturnType<typeof spawn>): Promise<CommandResult> {
  return new Promise((resolve) => {
    let tail = '';
    child.stderr?.on('data', (c: Buffer) => {
      tail = (tail + c.toString('utf8')).slice(-2048);
    });
    child.once('error', (err) => resolve({ exitCode: null, signal: null, stderrTail: err.message }));
    child.once('close', (code, signal) => resolve({ exitCode: code, signal, stderrTail: tail.trimEnd() }));
  });
}
