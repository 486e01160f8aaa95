// The one catalogue of errors the Batch AI API returns. Every layer (HTTP, queue, blob manifests, orchestrations)
// builds its errors from here so a code always maps to the same HTTP status and the same retry behaviour.

/** How a caller should react: `never` retry the same request, retry `later` with back-off (honouring Retry-After). */
export type RetryBehaviour = 'never' | 'later';

interface ErrorSpec {
  readonly status: number;
  readonly retry: RetryBehaviour;
  readonly message: string;
}

export const API_ERRORS = {
  InvalidRequestContent: {
    status: 400,
    retry: 'never',
    message: 'The request content is not valid JSON: {reason}',
  },
  InvalidRequestBody: {
    status: 400,
    retry: 'never',
    message: 'The request body is invalid: {reason}',
  },
  MissingRequiredProperty: {
    status: 400,
    retry: 'never',
    message: "The required property '{target}' is missing.",
  },
  InvalidPropertyValue: {
    status: 400,
    retry: 'never',
    message: "The value of '{target}' is invalid: {reason}.",
  },
  UnknownProperty: {
    status: 400,
    retry: 'never',
    message: "'{target}' is not a property of the Batch AI 2018-05-01 API.{hint}",
  },
  InvalidToolkitSettings: {
    status: 400,
    retry: 'never',
    message: "Invalid '{target}': a job must specify exactly one toolkit ({toolkits}); {reason}.",
  },
  InvalidResourceId: {
    status: 400,
    retry: 'never',
    message: "'{target}' must be the resource id of {expected}: {reason}.",
  },
  InvalidResourceName: {
    status: 400,
    retry: 'never',
    message:
      "The {kind} name '{name}' is invalid: names are 1 to 64 characters long and contain only letters, digits, '-' and '_'.",
  },
  MissingApiVersionParameter: {
    status: 400,
    retry: 'never',
    message: "The api-version query parameter is required; use '{supported}'.",
  },
  InvalidApiVersionParameter: {
    status: 400,
    retry: 'never',
    message: "The api-version '{apiVersion}' is not supported; use '{supported}'.",
  },
  UnsupportedMediaType: {
    status: 415,
    retry: 'never',
    message: "The content type '{contentType}' is not supported; send 'application/json'.",
  },
  RequestEntityTooLarge: {
    status: 413,
    retry: 'never',
    message: 'The request body is {size} bytes; the limit is {limit} bytes.',
  },
  ResourceNotFound: {
    status: 404,
    retry: 'never',
    message: "The {type} '{name}' was not found.",
  },
  ParentResourceNotFound: {
    status: 404,
    retry: 'never',
    message: "The parent {type} '{name}' was not found.",
  },
  MethodNotAllowed: {
    status: 405,
    retry: 'never',
    message: "The method '{method}' is not allowed on this resource.",
  },
  ResourceUpdateNotSupported: {
    status: 409,
    retry: 'never',
    message: "The {type} '{name}' already exists with different properties and {reason}.",
  },
  OperationNotAllowed: {
    status: 409,
    retry: 'never',
    message: 'The operation is not allowed: {reason}.',
  },
  PreconditionFailed: {
    status: 412,
    retry: 'never',
    message: "The {type} '{name}' was modified by another request (If-Match did not match).",
  },
  TooManyRequests: {
    status: 429,
    retry: 'later',
    message: 'Too many requests; retry after {retryAfterSeconds} seconds.',
  },
  InternalServerError: {
    status: 500,
    retry: 'later',
    message: 'An internal error occurred; retry the request (correlation id {correlationId}).',
  },
  ServiceUnavailable: {
    status: 503,
    retry: 'later',
    message: 'The service is temporarily unavailable; retry after {retryAfterSeconds} seconds.',
  },
  // Authentication and authorization, with ARM's codes (see docs/auth.md).
  AuthenticationFailed: {
    status: 401,
    retry: 'never',
    message: 'Authentication failed: {reason}.',
  },
  InvalidAuthenticationToken: {
    status: 401,
    retry: 'never',
    message: 'The access token is invalid: {reason}.',
  },
  ExpiredAuthenticationToken: {
    status: 401,
    retry: 'never',
    message: 'The access token has expired; get a new token and retry.',
  },
  InvalidAuthenticationTokenAudience: {
    status: 401,
    retry: 'never',
    message: "The access token has an invalid audience: it must be one of '{audiences}'.",
  },
  AuthorizationFailed: {
    status: 403,
    retry: 'never',
    message:
      "The client '{principalId}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid.{hint}",
  },
  RoleAssignmentNotFound: {
    status: 404,
    retry: 'never',
    message: "The role assignment '{name}' is not found.",
  },
  RoleAssignmentExists: {
    status: 409,
    retry: 'never',
    message: "The role assignment already exists (as '{existing}').",
  },
  RoleAssignmentUpdateNotPermitted: {
    status: 409,
    retry: 'never',
    message: "The role assignment '{name}' exists with another principal, role or scope; delete it first.",
  },
  InvalidRoleDefinitionId: {
    status: 400,
    retry: 'never',
    message: "The role definition '{roleDefinitionId}' is not one of the roles this API knows ({known}).",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ApiErrorCode = keyof typeof API_ERRORS;

type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer Rest}` ? P | Placeholders<Rest> : never;

/** The named values a code's message template needs, checked at compile time. */
export type ApiErrorParams<C extends ApiErrorCode> = Record<
  Placeholders<(typeof API_ERRORS)[C]['message']>,
  string | number
>;

/** The ARM error body (`CloudErrorBody` in the spec): what goes inside `{ "error": ... }` on the wire. */
export interface ApiErrorBody {
  code: string;
  message: string;
  target?: string;
  details?: ApiErrorBody[];
}

export interface ApiErrorOptions {
  target?: string;
  details?: ApiErrorBody[];
  /** Only meaningful for retriable errors: becomes the Retry-After header. */
  retryAfterSeconds?: number;
}

export function formatApiErrorMessage<C extends ApiErrorCode>(code: C, params: ApiErrorParams<C>): string {
  const values = params as Record<string, string | number>;
  return API_ERRORS[code].message.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );
}

export function apiErrorBody<C extends ApiErrorCode>(
  code: C,
  params: ApiErrorParams<C>,
  options: Pick<ApiErrorOptions, 'target' | 'details'> = {},
): ApiErrorBody {
  const body: ApiErrorBody = { code, message: formatApiErrorMessage(code, params) };
  if (options.target !== undefined) body.target = options.target;
  if (options.details !== undefined && options.details.length > 0) body.details = options.details;
  return body;
}

/**
 * Base of every error the API reports. Callers decide on retries with `instanceof RetriableApiError`, never by
 * looking at codes or messages.
 */
export abstract class ApiError extends Error {
  abstract readonly retriable: boolean;
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly target: string | undefined;
  readonly details: ApiErrorBody[] | undefined;

  constructor(code: ApiErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = API_ERRORS[code].status;
    this.target = options.target;
    this.details = options.details;
  }

  toBody(): ApiErrorBody {
    const body: ApiErrorBody = { code: this.code, message: this.message };
    if (this.target !== undefined) body.target = this.target;
    if (this.details !== undefined && this.details.length > 0) body.details = this.details;
    return body;
  }

  /** The JSON the HTTP layer sends: `{ "error": { code, message, target?, details? } }`. */
  toCloudError(): { error: ApiErrorBody } {
    return { error: this.toBody() };
  }
}

/** The request itself is wrong: repeating it unchanged gives the same answer. */
export class NonRetriableApiError extends ApiError {
  readonly retriable = false;
}

/** A transient condition: the same request may succeed later. */
export class RetriableApiError extends ApiError {
  readonly retriable = true;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ApiErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(code, message, options);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function createApiError<C extends ApiErrorCode>(
  code: C,
  params: ApiErrorParams<C>,
  options: ApiErrorOptions = {},
): ApiError {
  const message = formatApiErrorMessage(code, params);
  return API_ERRORS[code].retry === 'later'
    ? new RetriableApiError(code, message, options)
    : new NonRetriableApiError(code, message, options);
}

/** Rebuilds a typed error from a body produced by validation (which returns data rather than throwing). */
export function apiErrorFromBody(
  body: ApiErrorBody,
  options: Pick<ApiErrorOptions, 'retryAfterSeconds'> = {},
): ApiError {
  const code: ApiErrorCode = isApiErrorCode(body.code) ? body.code : 'InternalServerError';
  const full: ApiErrorOptions = { ...options };
  if (body.target !== undefined) full.target = body.target;
  if (body.details !== undefined) full.details = body.details;
  return API_ERRORS[code].retry === 'later'
    ? new RetriableApiError(code, body.message, full)
    : new NonRetriableApiError(code, body.message, full);
}

export function isApiErrorCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(API_ERRORS, code);
}

export function httpStatusOf(code: ApiErrorCode): number {
  return API_ERRORS[code].status;
}

/** Anything that is not one of our API errors (a bug, a dropped connection) is treated as transient. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof ApiError) return error.retriable;
  return true;
}
