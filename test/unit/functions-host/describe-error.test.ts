import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { describeError } from '../../../local/functions-host/describe-error.js';

const require = createRequire(import.meta.url);
const { OrchestrationFailureError } = require('durable-functions/lib/src/error/OrchestrationFailureError.js') as {
  OrchestrationFailureError: new (error: unknown, state: unknown) => Error;
};

test('an orchestrator failure is described by the error in its out-of-proc state, not by "false"', () => {
  // Built exactly as durable-functions builds it when an orchestrator throws.
  const err = new OrchestrationFailureError(false, { isDone: false, actions: [[]], error: 'boom: no nodes' });
  assert.match(err.message, /^false\n/, 'the wrapper text the host used to log');
  assert.deepEqual(describeError(err), { message: 'boom: no nodes' });
});

test('failure details (a failed task with its stack) become the details', () => {
  const err = new OrchestrationFailureError(false, {
    isDone: false,
    actions: [[]],
    error: 'Error: store down',
    failureDetails: {
      ErrorType: 'Error',
      ErrorMessage: 'store down',
      StackTrace: 'Error: store down\n    at write (store.js:1:1)',
      InnerFailure: { ErrorType: 'RestError', ErrorMessage: 'ECONNREFUSED' },
    },
  });
  const d = describeError(err);
  assert.equal(d.message, 'Error: store down');
  assert.match(d.details ?? '', /at write \(store\.js:1:1\)/);
  assert.match(d.details ?? '', /RestError: ECONNREFUSED/);
});

test('an ordinary error keeps its message and stack', () => {
  const err = new Error('plain');
  const d = describeError(err);
  assert.equal(d.message, 'plain');
  assert.match(d.details ?? '', /describe-error\.test/);
});
