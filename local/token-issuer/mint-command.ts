import { createHash } from 'node:crypto';
import { ROLE_ALIASES, roleByGuid } from '../../shared/domain/access-control.js';
import type { StackDescriptor } from '../stack/descriptor.js';
import { loadOrCreateSigningKey, mintToken, principalIdOf } from './signing-key.js';

// `npm run token -- --principal alice --role Reader --scope <scope>`: tokens only prove who someone is; what
// they may do lives in role assignments, so --role grants one through the API (with the stack owner's token),
// exactly as an Owner would with `az role assignment create`.

export async function mintForPrincipal(
  dataDir: string,
  descriptor: StackDescriptor,
  principal: string,
  options: { app?: boolean; lifetimeSeconds?: number; groups?: readonly string[] } = {},
): Promise<string> {
  if (!descriptor.auth) throw new Error('the stack runs no token issuer');
  return mintToken(await loadOrCreateSigningKey(dataDir), {
    issuer: descriptor.auth.issuer,
    audience: descriptor.auth.audience,
    principal,
    ...(options.app ? { kind: 'app' as const } : {}),
    ...(options.lifetimeSeconds ? { lifetimeSeconds: options.lifetimeSeconds } : {}),
    ...(options.groups ? { groups: options.groups.map(principalIdOf) } : {}),
  });
}

function roleGuid(role: string): string {
  const guid = ROLE_ALIASES[role.toLowerCase()] ?? (roleByGuid(role) ? role.toLowerCase() : undefined);
  if (!guid) throw new Error(`unknown role '${role}': use Owner, Contributor, Reader or JobSubmitter`);
  return guid;
}

/** Grants `role` at `scope` (default: the subscription) through the roleAssignments API; idempotent. */
export async function grantRole(
  descriptor: StackDescriptor,
  principal: string,
  role: string,
  scope?: string,
): Promise<{ principalId: string; scope: string }> {
  if (!descriptor.auth || !descriptor.functions) throw new Error('the stack runs no token issuer or no API');
  const principalId = principalIdOf(principal);
  const where = (scope ?? `/subscriptions/${descriptor.subscriptionId}`).replace(/\/+$/, '');
  const guid = roleGuid(role);
  // A name derived from (principal, role, scope): running the command again finds the same assignment.
  const h = createHash('sha256').update(`${principalId}|${guid}|${where.toLowerCase()}`).digest('hex');
  const name = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  const url = `${descriptor.functions.apiBaseUrl}${where}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`;
  const response = await fetch(url, {
    method: 'PUT',
    headers: { authorization: `Bearer ${descriptor.auth.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      properties: {
        roleDefinitionId: `/subscriptions/${descriptor.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
        principalId,
      },
    }),
  });
  if (!response.ok && response.status !== 409) {
    throw new Error(`granting ${role} at ${where} failed: HTTP ${response.status} ${await response.text()}`);
  }
  return { principalId, scope: where };
}
