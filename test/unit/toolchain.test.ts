import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The build and test commands are what make `npm test` mean something: a source folder left out of tsconfig's
// include is never compiled (so its tests silently never run), and a test script without lint or build passes
// on code that does not compile.

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const readJson = (name: string) => JSON.parse(readFileSync(join(REPO, name), 'utf8'));
const SKIP = new Set(['node_modules', 'dist', '.local', '.git']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

test('every top-level folder holding TypeScript is compiled', () => {
  const include = new Set<string>(readJson('tsconfig.json').include);
  const folders = new Set(tsFiles(REPO).map((f) => relative(REPO, f).split(/[\\/]/)[0]!));
  const missing = [...folders].filter((f) => !include.has(f) && !f.endsWith('.ts'));
  assert.deepEqual(missing, [], 'folders with .ts files that tsconfig.json does not include');
});

test('every test source has its compiled test, so the runner sees all of them', () => {
  const sources = tsFiles(join(REPO, 'test')).filter((f) => f.endsWith('.test.ts'));
  assert.ok(sources.length > 10, `only ${sources.length} test files found`);
  const uncompiled = sources
    .map((f) => join(REPO, 'dist', relative(REPO, f)).replace(/\.ts$/, '.js'))
    .filter((f) => !existsSync(f));
  assert.deepEqual(uncompiled, []);
});

test('npm test lints, builds, then runs the compiled tests; strict TypeScript', () => {
  const script: string = readJson('package.json').scripts.test;
  const steps = script.split('&&').map((s) => s.trim());
  assert.deepEqual(steps.slice(0, 2), ['npm run lint', 'npm run build'], script);
  assert.match(steps[2] ?? '', /^node --test\b/, script);
  // Every test folder runs, except test/system (it needs Debian packages: `npm run test:system`).
  const folders = readdirSync(join(REPO, 'test'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && !['fixtures', 'support', 'system'].includes(d.name))
    .map((d) => d.name);
  for (const folder of folders) assert.ok(steps[2]?.includes(`dist/test/${folder}/`), `npm test runs test/${folder}`);
  assert.equal(readJson('tsconfig.json').compilerOptions.strict, true);
  assert.match(readJson('package.json').scripts.lint, /^biome check/);
});
