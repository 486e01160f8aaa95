import { type RoleAssignment, roleFromDefinitionId } from '../domain/access-control.js';
import type { StoredRoleAssignment } from '../stores/role-assignment-store.js';

// The ARM shape of a role assignment (Microsoft.Authorization 2022-04-01), shared by the operations on it.

export const ROLE_ASSIGNMENT_API_VERSIONS = ['2022-04-01', '2020-04-01-preview', '2018-09-01-preview', '2015-07-01'];

export function roleAssignmentIdOf(a: Pick<RoleAssignment, 'scope' | 'name'>): string {
  return `${a.scope === '/' ? '' : a.scope}/providers/Microsoft.Authorization/roleAssignments/${a.name}`;
}

export function roleAssignmentView(a: StoredRoleAssignment): Record<string, unknown> {
  return {
    id: roleAssignmentIdOf(a),
    name: a.name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      roleDefinitionId: a.roleDefinitionId,
      principalId: a.principalId,
      principalType: a.principalType ?? 'User',
      scope: a.scope,
      createdOn: a.createdOn,
      updatedOn: a.updatedOn,
      createdBy: a.createdBy,
      updatedBy: a.updatedBy,
      // Not part of Azure's shape but handy when reading a listing by eye.
      roleName: roleFromDefinitionId(a.roleDefinitionId)?.roleName,
    },
  };
}
