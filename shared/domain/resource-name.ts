import { type ApiErrorBody, apiErrorBody } from './api-errors.js';

// The spec's pattern for workspace, experiment, job, cluster and file server names (path parameters).
export const RESOURCE_NAME_PATTERN = /^[-\w_]+$/;
export const RESOURCE_NAME_MIN_LENGTH = 1;
export const RESOURCE_NAME_MAX_LENGTH = 64;

export function isValidResourceName(name: string): boolean {
  return (
    name.length >= RESOURCE_NAME_MIN_LENGTH &&
    name.length <= RESOURCE_NAME_MAX_LENGTH &&
    RESOURCE_NAME_PATTERN.test(name)
  );
}

/**
 * Checks a name taken from the URL. `kind` is the path parameter's name (`jobName`, `clusterName`...) so the error
 * targets exactly the parameter the client got wrong.
 */
export function checkResourceName(kind: string, name: string): ApiErrorBody | undefined {
  if (isValidResourceName(name)) return undefined;
  return apiErrorBody('InvalidResourceName', { kind, name }, { target: kind });
}
