import { deleteRoleAssignment } from '../../shared/api/delete-role-assignment.js';
import { putRoleAssignment } from '../../shared/api/put-role-assignment.js';
import { getRoleAssignment, listRoleAssignments } from '../../shared/api/read-role-assignments.js';
import { ROLE_ASSIGNMENT_API_VERSIONS, roleAssignmentView } from '../../shared/api/role-assignment-view.js';
import type { ApiRoute } from './api-routes.js';
import { type ArmCall, json } from './arm-http.js';
import { targetOf } from './authorize.js';

// Microsoft.Authorization/roleAssignments on the same API, at the three scopes roles apply to here: a
// subscription, a resource group, a workspace. Who may call them is decided like every other route, by the
// ARM action (`Microsoft.Authorization/roleAssignments/write` needs Owner; Readers may read).

const SCOPES: { suffix: string; template: string; noun: string }[] = [
  { suffix: '', template: 'subscriptions/{subscriptionId}', noun: 'a subscription' },
  {
    suffix: '_ResourceGroup',
    template: 'subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}',
    noun: 'a resource group',
  },
  {
    suffix: '_Workspace',
    template:
      'subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.BatchAI/workspaces/{workspaceName}',
    noun: 'a workspace',
  },
];

const scopeOf = (template: string, call: ArmCall) => targetOf(template, call.params);

export function roleAssignmentRoutes(): ApiRoute[] {
  return SCOPES.flatMap(({ suffix, template, noun }): ApiRoute[] => {
    const collection = `${template}/providers/Microsoft.Authorization/roleAssignments`;
    const one = `${collection}/{roleAssignmentName}`;
    const input = (call: ArmCall) => ({ scope: scopeOf(template, call), name: call.params.roleAssignmentName! });
    const deps = (call: ArmCall) => ({ roleAssignments: call.auth.roleAssignments, now: call.deps.now });
    return [
      {
        operationId: `RoleAssignments_ListForScope${suffix}`,
        method: 'GET',
        route: collection,
        description: `Lists the role assignments at, above and below ${noun}.`,
        returns: 'list',
        apiVersions: ROLE_ASSIGNMENT_API_VERSIONS,
        handler: async (call) =>
          json(200, {
            value: (
              await listRoleAssignments(deps(call), {
                scope: scopeOf(template, call),
                filter: call.query.get('$filter'),
              })
            ).map(roleAssignmentView),
          }),
      },
      {
        operationId: `RoleAssignments_Create${suffix}`,
        method: 'PUT',
        route: one,
        description: `Grants a role at ${noun} (Owners only).`,
        returns: 'none',
        apiVersions: ROLE_ASSIGNMENT_API_VERSIONS,
        handler: async (call) => {
          const result = await putRoleAssignment(deps(call), {
            ...input(call),
            body: await call.body(),
            caller: call.auth.principal,
          });
          return json(result.created ? 201 : 200, roleAssignmentView(result.assignment));
        },
      },
      {
        operationId: `RoleAssignments_Get${suffix}`,
        method: 'GET',
        route: one,
        description: `Gets a role assignment at ${noun}.`,
        returns: 'none',
        apiVersions: ROLE_ASSIGNMENT_API_VERSIONS,
        handler: async (call) => json(200, roleAssignmentView(await getRoleAssignment(deps(call), input(call)))),
      },
      {
        operationId: `RoleAssignments_Delete${suffix}`,
        method: 'DELETE',
        route: one,
        description: `Removes a role assignment at ${noun} (Owners only).`,
        returns: 'none',
        apiVersions: ROLE_ASSIGNMENT_API_VERSIONS,
        handler: async (call) => {
          const deleted = await deleteRoleAssignment(deps(call), input(call));
          return deleted ? json(200, roleAssignmentView(deleted)) : { status: 204 };
        },
      },
    ];
  });
}
