import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { ApiDeps } from '../../../shared/api/api-deps.js';
import { terminateJob } from '../../../shared/api/terminate-job.js';
import { type JobRecord, newJobRecord } from '../../../shared/domain/job-view.js';
import type { JobResourceId } from '../../../shared/domain/resource-id.js';
import { SecretBox } from '../../../shared/secrets/secret-box.js';
import type { OperationRecord, StoredResource } from '../../../shared/stores/resource-store.js';

// terminateJob's decisions, with in-memory stores (the Cosmos stores have their own contract tests).
const id: JobResourceId = {
  kind: 'job',
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'rg',
  workspace: 'ws',
  experiment: 'exp',
  job: 'j',
};

function deps(executionState: JobRecord['executionState']) {
  const job = newJobRecord({ id, uid: 'u', properties: {} as JobRecord['properties'], now: '2026-01-01T00:00:00Z' });
  let stored: StoredResource = {
    id,
    resourceId: '/job',
    record: { ...job, executionState } as unknown as Record<string, unknown>,
    bodyHash: 'h',
    createdAt: job.creationTime,
    updatedAt: job.creationTime,
    etag: '1',
  };
  const operations = new Map<string, OperationRecord>();
  const signalled: string[] = [];
  const d = {
    store: {
      get: async () => stored,
      update: async (_: unknown, change: (s: StoredResource) => StoredResource | undefined) => {
        const next = change(stored);
        if (next) stored = { ...next, etag: String(Number(stored.etag) + 1) };
        return stored;
      },
    },
    operations: {
      put: async (op: OperationRecord) => void operations.set(op.operationId, op),
      createIfAbsent: async (op: OperationRecord) =>
        void (operations.has(op.operationId) || operations.set(op.operationId, op)),
      get: async (opId: string) => operations.get(opId),
    },
    lifecycles: {
      startJob: async () => {},
      terminateJob: async (input: { operationId: string }) => void signalled.push(input.operationId),
    },
    secrets: new SecretBox(randomBytes(32)),
    now: () => new Date('2026-01-02T00:00:00Z'),
    newId: randomUUID,
  } as unknown as ApiDeps;
  return {
    d,
    operations,
    signalled,
    job: () => stored.record as unknown as JobRecord & { terminateOperationId?: string },
  };
}

test('a queued job becomes terminating and its lifecycle is told once; a retry gets the same operation', async () => {
  const { d, operations, signalled, job } = deps('queued');
  const first = await terminateJob(d, id);
  assert.equal(job().executionState, 'terminating');
  assert.equal(job().terminateOperationId, first.operationId);
  assert.equal(operations.get(first.operationId)?.status, 'InProgress');
  const again = await terminateJob(d, id);
  assert.equal(again.operationId, first.operationId);
  assert.deepEqual(signalled, [first.operationId]);
});

test('terminating a finished job changes nothing and succeeds at once', async () => {
  for (const state of ['succeeded', 'failed'] as const) {
    const { d, operations, signalled, job } = deps(state);
    const { operationId } = await terminateJob(d, id);
    assert.equal(job().executionState, state);
    assert.equal(operations.get(operationId)?.status, 'Succeeded');
    assert.deepEqual(signalled, []);
  }
});
