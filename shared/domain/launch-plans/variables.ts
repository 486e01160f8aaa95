// `$VAR` / `${VAR}` references as Batch AI expanded them. Paths (output prefixes, script paths, input directories,
// user environment values) are expanded at plan time with the AZ_BATCHAI_* values known then, because nothing else
// would expand them: the agent sets environment values verbatim, and a path is not a shell word. Command lines are
// left to bash on the node, which has the same variables in its environment (expanding them here would ignore the
// user's quoting). References to variables we do not know are left as they are.

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

export function expandVariables(text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(REFERENCE, (whole, braced: string | undefined, bare: string | undefined) => {
    const value = values.get((braced ?? bare)!);
    return value ?? whole;
  });
}

/**
 * A path as one shell word: double-quoted so spaces and metacharacters stay literal, with `$` left active so the
 * references plan time could not resolve (e.g. `$HOME`) are still expanded by bash, as on Batch AI.
 */
export function shellWord(path: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(path)) return path;
  return `"${path.replace(/(["\\`])/g, '\\$1')}"`;
}

/** Appends arguments (a shell fragment written by the user) to a command, if any. */
export function withArgs(command: string, args: string | undefined): string {
  const trimmed = args?.trim();
  return trimmed ? `${command} ${trimmed}` : command;
}
