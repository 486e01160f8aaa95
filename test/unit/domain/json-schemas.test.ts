import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type JsonSchema, toJsonSchemas } from '../../../shared/domain/index.js';
import { readSpec, type SpecSchema } from './reference-data.js';

// The JSON Schemas we publish must describe the same request bodies as BatchAI.json: every writable property, the
// same required lists and enum values. This doubles as the check that the zod schemas miss no property of the spec.

const spec = readSpec();
const schemas = toJsonSchemas();

function resolve(schema: SpecSchema): SpecSchema {
  if (schema.$ref === undefined) return schema;
  const name = schema.$ref.replace('#/definitions/', '');
  const target = spec.definitions[name];
  assert.ok(target, `unresolved ${schema.$ref}`);
  return { ...target, ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$ref')) };
}

interface Ours {
  type?: string;
  properties?: Record<string, Ours>;
  required?: string[];
  enum?: string[];
  items?: Ours;
  additionalProperties?: unknown;
}

function compare(specSchema: SpecSchema, ours: Ours, path: string, problems: string[]): void {
  const s = resolve(specSchema);
  if (s.enum !== undefined) {
    if (JSON.stringify([...(ours.enum ?? [])].sort()) !== JSON.stringify([...s.enum].sort())) {
      problems.push(`${path}: enum ${JSON.stringify(ours.enum)} != spec ${JSON.stringify(s.enum)}`);
    }
  }
  const specType = s.type ?? (s.properties !== undefined ? 'object' : undefined);
  if (specType !== undefined && ours.type !== specType) problems.push(`${path}: type ${ours.type} != spec ${specType}`);
  if (s.items !== undefined) {
    if (ours.items === undefined) problems.push(`${path}: no items`);
    else compare(s.items, ours.items, `${path}[]`, problems);
  }
  if (s.properties === undefined) return;
  const writable = Object.entries(s.properties).filter(([, p]) => resolve(p).readOnly !== true && p.readOnly !== true);
  const ourProps = ours.properties ?? {};
  for (const [name, child] of writable) {
    const mine = ourProps[name];
    if (mine === undefined) problems.push(`${path}.${name}: missing`);
    else compare(child, mine, `${path}.${name}`, problems);
  }
  for (const name of Object.keys(ourProps)) {
    // Our documented, optional extensions (docs/decisions/0105) are the one addition to the spec's bodies.
    if (name.startsWith('x-batchai-')) continue;
    if (!writable.some(([n]) => n === name)) problems.push(`${path}.${name}: not in the spec`);
  }
  const specRequired = [...(s.required ?? [])].sort();
  const ourRequired = [...(ours.required ?? [])].sort();
  if (JSON.stringify(specRequired) !== JSON.stringify(ourRequired)) {
    problems.push(`${path}: required ${JSON.stringify(ourRequired)} != spec ${JSON.stringify(specRequired)}`);
  }
}

function propertiesOf(schema: JsonSchema): Ours {
  const body = schema as Ours;
  const props = body.properties?.['properties'];
  assert.ok(props, 'body schema has a properties member');
  return props;
}

test('every request body schema matches its BatchAI.json definition', () => {
  const pairs: Array<[string, Ours]> = [
    ['JobBaseProperties', propertiesOf(schemas.JobCreateParameters)],
    ['ClusterBaseProperties', propertiesOf(schemas.ClusterCreateParameters)],
    ['ClusterUpdateProperties', propertiesOf(schemas.ClusterUpdateParameters)],
    ['FileServerBaseProperties', propertiesOf(schemas.FileServerCreateParameters)],
    ['WorkspaceCreateParameters', schemas.WorkspaceCreateParameters as Ours],
    ['WorkspaceUpdateParameters', schemas.WorkspaceUpdateParameters as Ours],
  ];
  const problems: string[] = [];
  for (const [name, ours] of pairs) compare({ $ref: `#/definitions/${name}` }, ours, name, problems);
  assert.deepEqual(problems, []);
});

test('the schemas are OpenAPI 2.0 friendly: no $schema, objects inside properties are closed', () => {
  for (const [name, schema] of Object.entries(schemas)) {
    assert.equal(schema['$schema'], undefined, name);
    assert.equal(schema['type'], 'object', name);
  }
  const job = propertiesOf(schemas.JobCreateParameters);
  assert.equal(job.additionalProperties, false);
  assert.equal(job.properties?.['pyTorchSettings']?.additionalProperties, false);
});

test('defaults are published', () => {
  const job = propertiesOf(schemas.JobCreateParameters) as Ours & {
    properties: Record<string, Record<string, unknown>>;
  };
  assert.equal(job.properties['schedulingPriority']?.['default'], 'normal');
  const constraints = job.properties['constraints'] as { properties: Record<string, Record<string, unknown>> };
  assert.equal(constraints.properties['maxWallClockTime']?.['default'], 'P7D');
  const cluster = propertiesOf(schemas.ClusterCreateParameters) as {
    properties: Record<string, Record<string, unknown>>;
  };
  assert.equal(cluster.properties['vmPriority']?.['default'], 'dedicated');
});

test('the comparison itself notices a missing property, an extra one and a changed enum', () => {
  const job = structuredClone(propertiesOf(schemas.JobCreateParameters));
  delete job.properties?.['nodeCount'];
  if (job.properties !== undefined) job.properties['nodeCounts'] = { type: 'integer' };
  const priority = job.properties?.['schedulingPriority'];
  if (priority !== undefined) priority.enum = ['low', 'high'];
  const problems: string[] = [];
  compare({ $ref: '#/definitions/JobBaseProperties' }, job, 'JobBaseProperties', problems);
  assert.ok(problems.includes('JobBaseProperties.nodeCount: missing'), problems.join('\n'));
  assert.ok(problems.includes('JobBaseProperties.nodeCounts: not in the spec'), problems.join('\n'));
  assert.ok(
    problems.some((p) => p.startsWith('JobBaseProperties.schedulingPriority: enum')),
    problems.join('\n'),
  );
});
