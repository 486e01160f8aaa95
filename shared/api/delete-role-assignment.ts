import { normalizeScope } from '../domain/access-control.js';
import type { RoleAssignmentStore, StoredRoleAssignment } from '../stores/role-assignment-store.js';

/** DELETE: the deleted assignment (Azure answers 200 with it), or undefined when there was none at this scope. */
export async function deleteRoleAssignment(
  deps: { roleAssignments: RoleAssignmentStore },
  input: { scope: string; name: string },
): Promise<StoredRoleAssignment | undefined> {
  const found = await deps.roleAssignments.get(input.name);
  if (!found || found.scope.toLowerCase() !== normalizeScope(input.scope).toLowerCase()) return undefined;
  await deps.roleAssignments.delete(found.name);
  return found;
}
