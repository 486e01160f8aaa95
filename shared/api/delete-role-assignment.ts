import { normalizeScope, scopeCovers } from '../domain/access-control.js';
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

/**
 * Removes the assignments at or below a resource being deleted, so that a new resource of the same name does
 * not inherit who could use the old one (as Azure removes a deleted resource's role assignments).
 */
export async function deleteRoleAssignmentsAtOrBelow(
  deps: { roleAssignments: RoleAssignmentStore },
  scope: string,
): Promise<number> {
  const doomed = (await deps.roleAssignments.listAll()).filter((a) => scopeCovers(scope, a.scope));
  for (const a of doomed) await deps.roleAssignments.delete(a.name);
  return doomed.length;
}
