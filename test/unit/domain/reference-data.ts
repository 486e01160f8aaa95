import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The Batch AI reference material (spec, examples, recipes) lives outside the repo, next to it. Tests find it by
// walking up from the compiled test file and from the working directory; BATCHAI_REFERENCE_DIR overrides both.

const MARKER = join('rest-api-2018-05-01', 'BatchAI.json');

function findReferenceDir(): string {
  const override = process.env['BATCHAI_REFERENCE_DIR'];
  if (override !== undefined && existsSync(join(override, MARKER))) return override;
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()];
  const tried: string[] = [];
  for (const start of starts) {
    let dir = resolve(start);
    for (;;) {
      for (const candidate of [join(dir, 'shared', 'reference', 'batchai'), join(dir, 'reference', 'batchai')]) {
        tried.push(candidate);
        if (existsSync(join(candidate, MARKER))) return candidate;
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(`Batch AI reference data not found (set BATCHAI_REFERENCE_DIR); looked in:\n${tried.join('\n')}`);
}

export const REFERENCE_DIR = findReferenceDir();

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export interface SpecExample {
  parameters: Record<string, unknown> & { parameters?: unknown };
  responses: Record<string, { body?: unknown; parameters?: unknown }>;
}

export function readExample(name: string): SpecExample {
  return readJson(join(REFERENCE_DIR, 'rest-api-2018-05-01', 'examples', `${name}.json`)) as SpecExample;
}

export interface Spec {
  definitions: Record<string, SpecSchema>;
}
export interface SpecSchema {
  type?: string;
  properties?: Record<string, SpecSchema>;
  required?: string[];
  enum?: string[];
  items?: SpecSchema;
  $ref?: string;
  readOnly?: boolean;
  default?: unknown;
}

export function readSpec(): Spec {
  return readJson(join(REFERENCE_DIR, 'rest-api-2018-05-01', 'BatchAI.json')) as Spec;
}

/** Each recipe job file with its `<...>` placeholders replaced by plausible values. */
export function readRecipes(replacements: Record<string, string>): Array<{ name: string; body: unknown }> {
  const dir = join(REFERENCE_DIR, 'recipes');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((name) => {
      const text = readFileSync(join(dir, name), 'utf8').replace(/<([A-Z0-9_]+)>/g, (whole, key: string) => {
        const value = replacements[key];
        if (value === undefined) throw new Error(`${name}: no replacement for placeholder ${whole}`);
        return value;
      });
      return { name, body: JSON.parse(text) as unknown };
    });
}

/** Deep clone of JSON data, so tests can mutate examples freely. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export interface ExampleResource {
  id: string;
  name: string;
  type: string;
  properties: Record<string, unknown>;
}

/** The resource an example returns (a few examples put it under `parameters` instead of `body`). */
export function exampleResponse(name: string, status = '200'): ExampleResource {
  const response = readExample(name).responses[status];
  const body = response?.body ?? response?.parameters;
  if (body === undefined) throw new Error(`${name}.json has no ${status} response body`);
  return body as ExampleResource;
}
