import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The Batch AI facts the tests check (spec shapes, examples, recipes) are fixtures in the repo, regenerated from the
// reference material by scripts/regenerate-fixtures.ts; tests need nothing outside the repository.

/** test/fixtures/batchai, from the compiled file (dist/test/unit/domain) or the source alike. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../../test/fixtures/batchai/', import.meta.url));

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export interface SpecExample {
  parameters: Record<string, unknown> & { parameters?: unknown };
  responses: Record<string, { body?: unknown; parameters?: unknown }>;
}

export function readExample(name: string): SpecExample {
  return readJson(join(FIXTURES_DIR, 'examples', `${name}.json`)) as SpecExample;
}

export interface Spec {
  apiVersion: string;
  operations: Array<{ operationId: string; method: string; path: string }>;
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
  return readJson(join(FIXTURES_DIR, 'spec-facts.json')) as Spec;
}

/** Each recipe job file with its `<...>` placeholders replaced by plausible values. */
export function readRecipes(replacements: Record<string, string>): Array<{ name: string; body: unknown }> {
  const dir = join(FIXTURES_DIR, 'recipes');
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
