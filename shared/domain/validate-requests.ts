import { apiErrorBody } from './api-errors.js';
import {
  type ClusterProperties,
  type ClusterUpdateProperties,
  clusterPropertiesSchema,
  clusterUpdatePropertiesSchema,
} from './cluster-schema.js';
import { type FileServerProperties, fileServerPropertiesSchema } from './file-server-schema.js';
import { type JobProperties, jobPropertiesSchema } from './job-schema.js';
import {
  fail,
  isJsonObject,
  parseWith,
  type Validation,
  validatePropertiesBody,
  withoutNulls,
} from './validate-body.js';
import {
  experimentPropertiesSchema,
  type WorkspaceCreate,
  type WorkspaceUpdate,
  workspaceCreateSchema,
  workspaceUpdateSchema,
} from './workspace-schema.js';

// One validator per request body. Each takes the parsed JSON (unknown) and returns the normalized value with the
// spec's defaults applied, or one ARM error naming the field(s) at fault. None of them throws.

const PROVISIONING = ['creationTime', 'provisioningState', 'provisioningStateTransitionTime'].map((p) => [p]);

const JOB_READ_ONLY = [
  ...PROVISIONING,
  ['toolType'],
  ['jobOutputDirectoryPathSegment'],
  ['executionState'],
  ['executionStateTransitionTime'],
  ['executionInfo'],
];
const CLUSTER_READ_ONLY = [
  ...PROVISIONING,
  ['allocationState'],
  ['allocationStateTransitionTime'],
  ['errors'],
  ['currentNodeCount'],
  ['nodeStateCounts'],
  ['nodeSetup', 'setupTask', 'stdOutErrPathSuffix'],
];
const FILE_SERVER_READ_ONLY = [...PROVISIONING, ['mountSettings']];

export function validateJobCreate(body: unknown): Validation<JobProperties> {
  return validatePropertiesBody(body, jobPropertiesSchema, { readOnly: JOB_READ_ONLY, propertiesRequired: true });
}

export function validateClusterCreate(body: unknown): Validation<ClusterProperties> {
  return validatePropertiesBody(body, clusterPropertiesSchema, {
    readOnly: CLUSTER_READ_ONLY,
    propertiesRequired: true,
  });
}

export function validateClusterUpdate(body: unknown): Validation<ClusterUpdateProperties> {
  return validatePropertiesBody(body, clusterUpdatePropertiesSchema, {
    readOnly: [],
    propertiesRequired: false,
  });
}

export function validateFileServerCreate(body: unknown): Validation<FileServerProperties> {
  return validatePropertiesBody(body, fileServerPropertiesSchema, {
    readOnly: FILE_SERVER_READ_ONLY,
    propertiesRequired: true,
  });
}

/** Experiments have no writable properties; the body may be absent, `{}` or `{ "properties": {} }`. */
export function validateExperimentCreate(body: unknown): Validation<Record<string, never>> {
  if (body === undefined || body === null) return { ok: true, value: {} };
  const result = validatePropertiesBody(body, experimentPropertiesSchema, {
    readOnly: PROVISIONING,
    propertiesRequired: false,
  });
  return result.ok ? { ok: true, value: {} } : result;
}

export function validateWorkspaceCreate(body: unknown): Validation<WorkspaceCreate> {
  return validateTrackedBody(body, (b) => parseWith(workspaceCreateSchema, b, []));
}

export function validateWorkspaceUpdate(body: unknown): Validation<WorkspaceUpdate> {
  return validateTrackedBody(body, (b) => parseWith(workspaceUpdateSchema, b, []));
}

// Workspaces carry location and tags at the top level; their `properties` hold only read-only values.
function validateTrackedBody<T>(body: unknown, parse: (body: Record<string, unknown>) => Validation<T>): Validation<T> {
  if (!isJsonObject(body)) {
    return fail([apiErrorBody('InvalidRequestBody', { reason: 'the body must be a JSON object' })]);
  }
  const cleaned = withoutNulls(body) as Record<string, unknown>;
  if (cleaned['properties'] !== undefined) {
    const props = validatePropertiesBody(cleaned, experimentPropertiesSchema, {
      readOnly: PROVISIONING,
      propertiesRequired: false,
    });
    if (!props.ok) return props;
  }
  return parse(cleaned);
}
