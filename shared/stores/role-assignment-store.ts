import type { RoleAssignment } from '../domain/access-control.js';

// Role assignments, as the Microsoft.Authorization/roleAssignments surface and the authorization point see
// them. Implementations are named for their backend (CosmosRoleAssignmentStore).

export interface StoredRoleAssignment extends RoleAssignment {
  createdOn: string;
  updatedOn: string;
  createdBy: string;
  updatedBy: string;
}

export interface RoleAssignmentStore {
  /** By name (a GUID, unique across scopes). */
  get(name: string): Promise<StoredRoleAssignment | undefined>;
  /** Creates the assignment unless one with this name exists; returns what is stored either way. */
  createIfAbsent(assignment: StoredRoleAssignment): Promise<{ created: boolean; assignment: StoredRoleAssignment }>;
  delete(name: string): Promise<boolean>;
  /** Every assignment of one principal (what authorization reads on each request). */
  listForPrincipal(principalId: string): Promise<StoredRoleAssignment[]>;
  /** Every assignment (the list operation filters by scope; there are few). */
  listAll(): Promise<StoredRoleAssignment[]>;
}
