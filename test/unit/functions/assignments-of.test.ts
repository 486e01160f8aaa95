import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuthServices, assignmentsOf } from '../../../functions/http/authorize.js';
import { NO_FUNCTION_KEYS } from '../../../shared/auth/function-keys.js';
import type { RoleAssignment } from '../../../shared/domain/access-control.js';

// Role assignments store object ids in lower case (as tokens usually carry them); a principal whose token or
// App Service header spells its id, or a group's, in upper case must still get its roles.
test('assignments are found whatever the case of the object ids the principal carries', async () => {
  const user = '5d6e7f80-1111-4222-8333-944455556666';
  const group = '0a0b0c0d-aaaa-4bbb-8ccc-0d0e0f101112';
  const stored: RoleAssignment[] = [
    { name: 'a', scope: '/subscriptions/s', roleDefinitionId: 'reader', principalId: user },
    { name: 'b', scope: '/subscriptions/s', roleDefinitionId: 'owner', principalId: group },
  ];
  const asked: string[] = [];
  const services = {
    settings: {
      auth: {
        issuers: [],
        audiences: [],
        trustAppServiceAuth: false,
        subscriptionOwners: [],
        functionKeys: { kind: 'none' },
      },
      subscriptionId: 's',
    },
    functionKeys: NO_FUNCTION_KEYS,
    roleAssignments: {
      listForPrincipal: async (id: string) => {
        asked.push(id);
        return stored.filter((a) => a.principalId === id);
      },
    },
  } as unknown as AuthServices;
  const held = await assignmentsOf(
    { id: user.toUpperCase(), type: 'User', groupIds: [group.toUpperCase(), 'not-a-guid-Label'] },
    services,
  );
  assert.deepEqual(held.map((a) => a.name).sort(), ['a', 'b']);
  assert.ok(asked.includes('not-a-guid-Label'), 'ids that are not GUIDs are looked up as given');
});
