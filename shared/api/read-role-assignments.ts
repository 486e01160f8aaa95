import { normalizeScope, scopeCovers } from '../domain/access-control.js';
import { createApiError } from '../domain/api-errors.js';
import type { RoleAssignmentStore, StoredRoleAssignment } from '../stores/role-assignment-store.js';

export async function getRoleAssignment(
  deps: { roleAssignments: RoleAssignmentStore },
  input: { scope: string; name: string },
): Promise<StoredRoleAssignment> {
  const found = await deps.roleAssignments.get(input.name);
  if (!found || found.scope.toLowerCase() !== normalizeScope(input.scope).toLowerCase()) {
    throw createApiError('RoleAssignmentNotFound', { name: input.name });
  }
  return found;
}

/**
 * Azure's "list for scope": assignments at, above and below the scope; `$filter=atScope()` keeps those at and
 * above it, `$filter=principalId eq '{id}'` one principal's (the two filters Azure supports here).
 */
export async function listRoleAssignments(
  deps: { roleAssignments: RoleAssignmentStore },
  input: { scope: string; filter: string | null },
): Promise<StoredRoleAssignment[]> {
  const scope = normalizeScope(input.scope);
  const filter = (input.filter ?? '').trim();
  const principal = /^principalId\s+eq\s+'([^']+)'$/i.exec(filter);
  const atScope = /^atScope\(\)$/i.test(filter);
  if (filter !== '' && !principal && !atScope) {
    throw createApiError(
      'InvalidPropertyValue',
      { target: '$filter', reason: "supported filters are atScope() and principalId eq '{id}'" },
      { target: '$filter' },
    );
  }
  const all = principal
    ? await deps.roleAssignments.listForPrincipal(principal[1]!)
    : await deps.roleAssignments.listAll();
  return all
    .filter((a) => scopeCovers(a.scope, scope) || (!atScope && scopeCovers(scope, a.scope)))
    .sort((a, b) => a.createdOn.localeCompare(b.createdOn) || a.name.localeCompare(b.name));
}
