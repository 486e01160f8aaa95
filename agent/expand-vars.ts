/**
 * Expands `$NAME` and `${NAME}` the way Batch AI expanded its paths (stdOutErrDirectory, working directories,
 * environment values): names the lookup knows are replaced; anything else is left as written, so a literal `$`
 * or a variable meant for the task's own shell survives.
 */
export function expandVars(text: string, lookup: (name: string) => string | undefined): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (whole, braced?: string, bare?: string) => {
      const value = lookup((braced ?? bare) as string);
      return value === undefined ? whole : value;
    },
  );
}
