import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type ApiErrorBody,
  isApiErrorCode,
  type Validation,
  validateClusterCreate,
  validateClusterUpdate,
  validateExperimentCreate,
  validateFileServerCreate,
  validateJobCreate,
  validateWorkspaceCreate,
  validateWorkspaceUpdate,
} from '../../../shared/domain/index.js';
import { fullCluster, fullFileServer, fullJob, marker, minimalJob } from './fixtures.js';
import { clone } from './reference-data.js';

// Whatever arrives (HTTP body, queue message, dropped manifest), validation answers with data: ok or one ARM error.

const VALIDATORS: Record<string, (body: unknown) => Validation<unknown>> = {
  validateJobCreate,
  validateClusterCreate,
  validateClusterUpdate,
  validateFileServerCreate,
  validateWorkspaceCreate,
  validateWorkspaceUpdate,
  validateExperimentCreate,
};

function checkErrorShape(error: ApiErrorBody): void {
  assert.equal(error.code, 'InvalidRequestBody');
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0);
  for (const detail of error.details ?? []) {
    assert.ok(isApiErrorCode(detail.code), `unknown code ${detail.code}`);
    assert.ok(detail.message.length > 0);
    // Every detail that names a field says its name in the message too.
    if (detail.target !== undefined) assert.ok(detail.message.includes(detail.target), detail.message);
  }
}

function checkResult(result: Validation<unknown>): void {
  assert.equal(typeof result.ok, 'boolean');
  if (!result.ok) checkErrorShape(result.error);
}

test('random JSON never makes a validator throw', () => {
  const body = fc.oneof(
    fc.jsonValue(),
    fc.record({ properties: fc.jsonValue() }),
    fc.dictionary(fc.string(), fc.jsonValue()),
  );
  for (const [name, validate] of Object.entries(VALIDATORS)) {
    fc.assert(
      fc.property(body, (b) => checkResult(validate(b))),
      { numRuns: 300, examples: [[undefined as never], [null], [{ properties: null }]] },
    );
    assert.ok(name);
  }
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Array.isArray(value)
    ? value.flatMap((v, i) => pathsOf(v, [...prefix, i]))
    : Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k]));
  return [prefix, ...children];
}

function setAt(root: Json, path: Array<string | number>, replacement: Json | undefined): Json {
  if (path.length === 0) return replacement ?? null;
  const copy = clone(root);
  let node: Json = copy;
  for (const key of path.slice(0, -1)) node = (node as Record<string, Json>)[key as string] as Json;
  const last = path[path.length - 1] as string | number;
  if (replacement === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete (node as Record<string, Json>)[last as string];
  } else {
    (node as Record<string, Json>)[last as string] = replacement;
  }
  return copy;
}

const VALID_BODIES: Array<[string, Json, (body: unknown) => Validation<unknown>]> = [
  ['job', fullJob(marker) as unknown as Json, validateJobCreate],
  ['minimal job', minimalJob() as Json, validateJobCreate],
  ['cluster', fullCluster(marker) as Json, validateClusterCreate],
  ['file server', fullFileServer(marker) as Json, validateFileServerCreate],
];

test('valid bodies with one random part replaced or removed: structured answer, fields named, normalization stable', () => {
  const replacement = fc.option(
    fc.oneof(
      fc.jsonValue() as fc.Arbitrary<Json>,
      fc.constantFrom<Json>(0, -1, 1.5, '', 'x', 'P7D', 'normal', [], {}, null, 2 ** 31),
    ),
    { nil: undefined },
  );
  for (const [name, body, validate] of VALID_BODIES) {
    const paths = pathsOf(body).filter((p) => p.length > 1);
    fc.assert(
      fc.property(fc.constantFrom(...paths), replacement, (path, value) => {
        const result = validate(setAt(body, path, value));
        checkResult(result);
        if (result.ok) {
          // What we store must validate again to itself, or a re-PUT of a GET would not be a no-op.
          const again = validate({ properties: result.value });
          assert.ok(again.ok, `${name}: normalized value does not revalidate: ${JSON.stringify(again)}`);
          assert.deepEqual(again.value, result.value);
        } else {
          for (const d of result.error.details ?? []) assert.ok(d.target?.startsWith('properties'), JSON.stringify(d));
        }
      }),
      { numRuns: 400 },
    );
  }
});

test('unknown keys are added anywhere: always rejected as UnknownProperty naming the key', () => {
  const key = fc.stringMatching(/^[a-z][A-Za-z]{2,12}$/).map((k) => `zz${k}`);
  for (const [, body, validate] of VALID_BODIES) {
    const objectPaths = pathsOf(body).filter((p) => {
      let node: Json = body;
      for (const k of p) node = (node as Record<string, Json>)[k as string] as Json;
      return (
        p.length >= 1 && p[0] === 'properties' && node !== null && typeof node === 'object' && !Array.isArray(node)
      );
    });
    fc.assert(
      fc.property(fc.constantFrom(...objectPaths), key, (path, extra) => {
        const result = validate(setAt(body, [...path, extra], 1));
        assert.equal(result.ok, false);
        if (!result.ok)
          assert.ok(result.error.details?.some((d) => d.code === 'UnknownProperty' && d.target?.endsWith(extra)));
      }),
      { numRuns: 200 },
    );
  }
});

test('__proto__ in a body is data, not a prototype', () => {
  const body = JSON.parse('{"properties": {"__proto__": {"polluted": true}, "nodeCount": 1}}') as unknown;
  const result = validateJobCreate(body);
  assert.equal(result.ok, false);
  if (!result.ok) assert.ok(result.error.details?.some((d) => d.target === 'properties.__proto__'));
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('deeply nested input is rejected without exhausting the stack', () => {
  let deep: unknown = 'x';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const result = validateJobCreate({ properties: { ...minimalJob().properties, inputDirectories: deep } });
  assert.equal(result.ok, false);
});
