import {
  BUILT_IN_ROLES,
  normalizeScope,
  type Principal,
  type PrincipalType,
  roleFromDefinitionId,
} from '../domain/access-control.js';
import { createApiError } from '../domain/api-errors.js';
import type { RoleAssignmentStore, StoredRoleAssignment } from '../stores/role-assignment-store.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PRINCIPAL_TYPES: readonly PrincipalType[] = ['User', 'Group', 'ServicePrincipal'];

function invalid(target: string, reason: string) {
  return createApiError('InvalidPropertyValue', { target, reason }, { target });
}

/**
 * PUT `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`: as in Azure, the name is a GUID, an
 * assignment cannot be changed in place, and the same principal may hold the same role at a scope only once.
 */
export async function putRoleAssignment(
  deps: { roleAssignments: RoleAssignmentStore; now(): Date },
  input: { scope: string; name: string; body: unknown; caller: Principal },
): Promise<{ created: boolean; assignment: StoredRoleAssignment }> {
  if (!GUID.test(input.name)) throw invalid('roleAssignmentName', 'must be a GUID');
  const properties = (input.body as { properties?: Record<string, unknown> } | undefined)?.properties;
  if (!properties || typeof properties !== 'object') {
    throw createApiError('MissingRequiredProperty', { target: 'properties' }, { target: 'properties' });
  }
  const { roleDefinitionId, principalType } = properties;
  const rawPrincipalId = properties.principalId;
  if (typeof roleDefinitionId !== 'string') {
    throw createApiError('MissingRequiredProperty', { target: 'properties.roleDefinitionId' });
  }
  if (typeof rawPrincipalId !== 'string' || rawPrincipalId.trim() === '' || rawPrincipalId.length > 128) {
    throw invalid('properties.principalId', 'must be the object id of a user, group or service principal');
  }
  if (principalType !== undefined && !PRINCIPAL_TYPES.includes(principalType as PrincipalType)) {
    throw invalid('properties.principalType', `must be one of ${PRINCIPAL_TYPES.join(', ')}`);
  }
  const role = roleFromDefinitionId(roleDefinitionId);
  if (!role) {
    throw createApiError('InvalidRoleDefinitionId', {
      roleDefinitionId,
      known: BUILT_IN_ROLES.map((r) => `${r.roleName} ${r.id}`).join(', '),
    });
  }
  const scope = normalizeScope(input.scope);
  // Object ids are GUIDs, compared case-insensitively; stored lowercase as tokens carry them.
  const principalId = GUID.test(rawPrincipalId) ? rawPrincipalId.toLowerCase() : rawPrincipalId;
  const existing = await deps.roleAssignments.listForPrincipal(principalId);
  const same = existing.find(
    (a) =>
      a.scope.toLowerCase() === scope.toLowerCase() &&
      roleFromDefinitionId(a.roleDefinitionId)?.id === role.id &&
      a.name.toLowerCase() !== input.name.toLowerCase(),
  );
  if (same) throw createApiError('RoleAssignmentExists', { existing: same.name });

  const now = deps.now().toISOString();
  const result = await deps.roleAssignments.createIfAbsent({
    name: input.name.toLowerCase(),
    scope,
    roleDefinitionId,
    principalId,
    principalType: (principalType as PrincipalType | undefined) ?? 'User',
    createdOn: now,
    updatedOn: now,
    createdBy: input.caller.id,
    updatedBy: input.caller.id,
  });
  const stored = result.assignment;
  if (
    !result.created &&
    (stored.scope.toLowerCase() !== scope.toLowerCase() ||
      stored.principalId !== principalId ||
      roleFromDefinitionId(stored.roleDefinitionId)?.id !== role.id)
  ) {
    throw createApiError('RoleAssignmentUpdateNotPermitted', { name: input.name });
  }
  return result;
}
