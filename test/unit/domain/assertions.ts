import assert from 'node:assert/strict';
import type { ApiErrorBody, Validation } from '../../../shared/domain/index.js';

/** Asserts a validation failed with a detail for `target` (and `code`, if given); returns that detail. */
export function assertRejected<T>(result: Validation<T>, target: string, code?: string): ApiErrorBody {
  if (result.ok) assert.fail(`expected a rejection naming ${target}, but the body was accepted`);
  assert.equal(result.error.code, 'InvalidRequestBody');
  const details = result.error.details ?? [];
  const detail = details.find((d) => d.target === target);
  assert.ok(
    detail,
    `no detail targets ${target}; got ${JSON.stringify(details.map((d) => [d.code, d.target, d.message]))}`,
  );
  if (code !== undefined) assert.equal(detail.code, code, detail.message);
  assert.match(detail.message, new RegExp(escapeRegExp(target)));
  return detail;
}

export function assertAccepted<T>(result: Validation<T>): T {
  if (!result.ok) assert.fail(`expected the body to be accepted, got ${JSON.stringify(result.error, null, 2)}`);
  return result.value;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
