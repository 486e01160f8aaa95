import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_ROUTES } from '../../../functions/http/api-routes.js';
import {
  actionOf,
  CONTRIBUTOR_ROLE_ID,
  decideAccess,
  JOB_SUBMITTER_ROLE_ID,
  OWNER_ROLE_ID,
  READER_ROLE_ID,
  type RoleAssignment,
  readActionOfId,
  roleFromDefinitionId,
  scopeCovers,
} from '../../../shared/domain/access-control.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000000';
const WS = `${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws`;
const assign = (principalId: string, role: string, scope: string): RoleAssignment => ({
  name: `${principalId}-${role}`,
  scope,
  principalId,
  roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
});

test('actions are named as Azure names them, from the route template and method', () => {
  const byId = Object.fromEntries(API_ROUTES.map((r) => [r.operationId, actionOf(r.method, r.route)]));
  assert.equal(byId.Workspaces_Get, 'Microsoft.BatchAI/workspaces/read');
  assert.equal(byId.Workspaces_List, 'Microsoft.BatchAI/workspaces/read');
  assert.equal(byId.Workspaces_Create, 'Microsoft.BatchAI/workspaces/write');
  assert.equal(byId.Workspaces_Update, 'Microsoft.BatchAI/workspaces/write');
  assert.equal(byId.Workspaces_Delete, 'Microsoft.BatchAI/workspaces/delete');
  assert.equal(byId.Jobs_ListByExperiment, 'Microsoft.BatchAI/workspaces/experiments/jobs/read');
  assert.equal(byId.Jobs_Terminate, 'Microsoft.BatchAI/workspaces/experiments/jobs/terminate/action');
  assert.equal(byId.Jobs_ListOutputFiles, 'Microsoft.BatchAI/workspaces/experiments/jobs/listOutputFiles/action');
  assert.equal(byId.Usages_List, 'Microsoft.BatchAI/locations/usages/read');
  assert.equal(byId.Operations_List, 'Microsoft.BatchAI/operations/read');
  assert.equal(byId.RoleAssignments_Create_Workspace, 'Microsoft.Authorization/roleAssignments/write');
  assert.equal(byId.RoleAssignments_Delete, 'Microsoft.Authorization/roleAssignments/delete');
  assert.equal(readActionOfId(`${WS}/experiments/e/jobs/j`), 'Microsoft.BatchAI/workspaces/experiments/jobs/read');
  assert.equal(
    readActionOfId(`${WS}/providers/Microsoft.Authorization/roleAssignments/x`),
    'Microsoft.Authorization/roleAssignments/read',
  );
});

test('a scope covers itself and what is below it, on segment boundaries, case-insensitively', () => {
  assert.ok(scopeCovers(SUB, WS));
  assert.ok(scopeCovers(WS.toUpperCase(), `${WS}/clusters/c`));
  assert.ok(scopeCovers('/', WS));
  assert.ok(!scopeCovers(`${WS}/clusters/c`, WS));
  assert.ok(!scopeCovers(`${SUB}/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/w`, WS));
  assert.ok(scopeCovers(`${WS}/`, `${WS}//experiments/e`));
});

test('built-in role semantics: Owner, Contributor (no role changes), Reader (reads only)', () => {
  const all = [assign('o', OWNER_ROLE_ID, SUB), assign('c', CONTRIBUTOR_ROLE_ID, SUB), assign('r', READER_ROLE_ID, WS)];
  const can = (id: string, action: string, target = WS) => decideAccess({ id }, all, { action, target }).allowed;
  assert.ok(can('o', 'Microsoft.Authorization/roleAssignments/write'));
  assert.ok(!can('c', 'Microsoft.Authorization/roleAssignments/write'));
  assert.ok(!can('c', 'Microsoft.Authorization/roleAssignments/delete'));
  assert.ok(can('c', 'Microsoft.Authorization/roleAssignments/read'));
  assert.ok(can('c', 'Microsoft.BatchAI/workspaces/delete'));
  assert.ok(can('r', 'Microsoft.BatchAI/workspaces/read'));
  assert.ok(!can('r', 'Microsoft.BatchAI/workspaces/experiments/jobs/listOutputFiles/action'));
  assert.ok(!can('r', 'Microsoft.BatchAI/workspaces/read', SUB), 'a workspace Reader reads nothing above it');
  assert.deepEqual(decideAccess({ id: 'x' }, all, { action: 'Microsoft.BatchAI/workspaces/read', target: WS }), {
    allowed: false,
    reason: 'noAssignment',
  });
  // Another principal's assignment is not the caller's.
  assert.ok(!decideAccess({ id: 'r' }, [assign('o', OWNER_ROLE_ID, SUB)], { action: 'x/read', target: WS }).allowed);
});

test('Job submitter: its own jobs only, and nothing that is not a job action', () => {
  const a = [assign('s', JOB_SUBMITTER_ROLE_ID, WS)];
  const job = `${WS}/experiments/e/jobs/j`;
  const write = 'Microsoft.BatchAI/workspaces/experiments/jobs/write';
  const terminate = 'Microsoft.BatchAI/workspaces/experiments/jobs/terminate/action';
  assert.deepEqual(decideAccess({ id: 's' }, a, { action: write, target: job, job: { exists: false } }), {
    allowed: true,
    ownJobsOnly: true,
  });
  assert.ok(
    decideAccess({ id: 's' }, a, { action: terminate, target: job, job: { exists: true, createdBy: 's' } }).allowed,
  );
  assert.deepEqual(
    decideAccess({ id: 's' }, a, { action: terminate, target: job, job: { exists: true, createdBy: 'o' } }),
    {
      allowed: false,
      reason: 'notOwnJob',
    },
  );
  assert.deepEqual(
    decideAccess({ id: 's' }, a, { action: 'Microsoft.BatchAI/workspaces/experiments/jobs/delete', target: job }),
    { allowed: false, reason: 'notPermitted' },
  );
  assert.ok(
    !decideAccess({ id: 's' }, a, { action: 'Microsoft.BatchAI/workspaces/clusters/read', target: `${WS}/clusters/c` })
      .allowed,
  );
  // With Reader too, reading someone else's job is allowed (the unconditional grant wins).
  const both = [...a, assign('s', READER_ROLE_ID, WS)];
  assert.ok(
    decideAccess({ id: 's' }, both, {
      action: 'Microsoft.BatchAI/workspaces/experiments/jobs/read',
      target: job,
      job: { exists: true, createdBy: 'o' },
    }).allowed,
  );
});

test('role definition ids in Azure form, with or without the subscription, resolve to the built-in roles', () => {
  assert.equal(
    roleFromDefinitionId(`${SUB}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE_ID}`)?.roleName,
    'Reader',
  );
  assert.equal(
    roleFromDefinitionId(`/providers/Microsoft.Authorization/roleDefinitions/${OWNER_ROLE_ID.toUpperCase()}`)?.roleName,
    'Owner',
  );
  assert.equal(roleFromDefinitionId(`${SUB}/providers/Microsoft.Authorization/roleDefinitions/not-a-guid`), undefined);
  assert.equal(
    roleFromDefinitionId(
      `${SUB}/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000000`,
    ),
    undefined,
  );
});

test("a group's assignments apply to its members (the token's groups claim), case-insensitively", () => {
  const group = '6a1b0000-0000-4000-8000-00000000a001';
  const a = [assign(group, READER_ROLE_ID, WS)];
  const read = { action: 'Microsoft.BatchAI/workspaces/read', target: WS };
  assert.ok(decideAccess({ id: 'member', groupIds: [group.toUpperCase()] }, a, read).allowed);
  assert.ok(!decideAccess({ id: 'member' }, a, read).allowed);
  assert.ok(!decideAccess({ id: 'member', groupIds: ['another'] }, a, read).allowed);
});
