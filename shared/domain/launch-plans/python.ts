import { shellWord, withArgs } from './variables.js';

// Python toolkits run `<interpreter> <script> <args>`. Batch AI's images put `python` on PATH; pythonInterpreterPath
// picks another one (on a Debian host, /usr/bin/python3 is the one whose apt-installed packages are importable).
// Paths become double-quoted shell words with `$` left active, so `$AZ_BATCHAI_JOB_MOUNT_ROOT/...` in a script path
// is expanded by bash on the node, with that node's own values.
export const DEFAULT_PYTHON = 'python';

export function pythonCommand(
  settings: { pythonScriptFilePath: string; pythonInterpreterPath?: string | undefined },
  args: string | undefined,
): string {
  const interpreter = settings.pythonInterpreterPath ? shellWord(settings.pythonInterpreterPath) : DEFAULT_PYTHON;
  return withArgs(`${interpreter} ${shellWord(settings.pythonScriptFilePath)}`, args);
}
