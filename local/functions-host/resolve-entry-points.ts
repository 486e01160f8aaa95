// The app's entry points: package.json `main`, which the v4 model allows to be one file or a glob such as
// `dist/src/functions/*.js` or `dist/**/*.js`. Supports `*`, `?` and `**` path segments (no braces).

import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

const GLOB_CHARS = /[*?[]/;

export async function resolveEntryPoints(appDir: string): Promise<string[]> {
  const pkgPath = path.join(appDir, 'package.json');
  let pkg: unknown;
  try {
    pkg = JSON.parse(await readFile(pkgPath, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read the app's package.json at ${pkgPath}: ${(err as Error).message}`);
  }
  const main = (pkg as { main?: unknown }).main;
  if (typeof main !== 'string' || main.trim() === '') {
    throw new Error(`The app's package.json (${pkgPath}) has no "main" field naming its entry point(s)`);
  }
  const pattern = main.trim().replace(/\\/g, '/').replace(/^\.\//, '');
  if (!GLOB_CHARS.test(pattern)) {
    const file = path.resolve(appDir, pattern);
    if (!(await isFile(file))) {
      throw new Error(`The app's entry point "${main}" (package.json main) does not exist: ${file}`);
    }
    return [file];
  }
  const files = await expandGlob(appDir, pattern);
  if (files.length === 0) {
    throw new Error(`The app's entry point glob "${main}" (package.json main) matches no files under ${appDir}`);
  }
  return files;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function segmentRegex(segment: string): RegExp {
  let re = '';
  for (const ch of segment) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expands a relative glob under `root`; results are absolute paths, sorted for a stable load order. */
export async function expandGlob(root: string, pattern: string): Promise<string[]> {
  const segments = pattern.split('/').filter((s) => s !== '' && s !== '.');
  const out = new Set<string>();

  async function walk(dir: string, index: number): Promise<void> {
    if (index === segments.length) {
      if (await isFile(dir)) out.add(dir);
      return;
    }
    const segment = segments[index]!;
    if (segment === '**') {
      await walk(dir, index + 1);
      for (const entry of await listDir(dir)) {
        if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) {
          await walk(path.join(dir, entry.name), index);
        }
      }
      return;
    }
    if (!GLOB_CHARS.test(segment)) {
      await walk(path.join(dir, segment), index + 1);
      return;
    }
    const re = segmentRegex(segment);
    for (const entry of await listDir(dir)) {
      if (re.test(entry.name)) await walk(path.join(dir, entry.name), index + 1);
    }
  }

  await walk(path.resolve(root), 0);
  return [...out].sort();
}

async function listDir(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
