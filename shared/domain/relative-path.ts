// One rule for every path a caller gives us that must stay under a root we choose (a mount under the job's mount
// root, a directory under a job's output directory): relative, no '..', in any spelling. Percent-encoded forms are
// decoded (repeatedly, for double encoding) before checking, since some layer on the way may decode them again.

/** Why `path` could escape its root, or undefined when it cannot. `allowDot` accepts '.' segments ("here"). */
export function relativePathProblem(path: string, options: { allowDot?: boolean } = {}): string | undefined {
  let decoded = path;
  for (let i = 0; i < 3 && /%[0-9a-f]{2}/i.test(decoded); i++) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      return 'it holds a malformed percent-encoding';
    }
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return 'it holds control characters';
  if (/^[/\\]/.test(decoded) || /^[a-z]:/i.test(decoded) || decoded.startsWith('~')) return 'it must be relative';
  const segments = decoded.split(/[/\\]/);
  if (segments.some((s) => s === '..')) return "'..' is not allowed";
  if (!options.allowDot && segments.some((s) => s === '.')) return "'.' segments are not allowed";
  return undefined;
}
