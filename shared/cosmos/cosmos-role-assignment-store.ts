import type { Container, ItemDefinition } from '@azure/cosmos';
import type { RoleAssignmentStore, StoredRoleAssignment } from '../stores/role-assignment-store.js';

interface RoleAssignmentDocument extends ItemDefinition {
  /** The assignment's name, lowercased (GUIDs compare case-insensitively). */
  id: string;
  principalId: string;
  assignment: StoredRoleAssignment;
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export class CosmosRoleAssignmentStore implements RoleAssignmentStore {
  constructor(private readonly container: Container) {}

  async get(name: string): Promise<StoredRoleAssignment | undefined> {
    const id = name.toLowerCase();
    const { resource } = await this.container.item(id, id).read<RoleAssignmentDocument>();
    return resource?.assignment;
  }

  async createIfAbsent(
    assignment: StoredRoleAssignment,
  ): Promise<{ created: boolean; assignment: StoredRoleAssignment }> {
    const doc: RoleAssignmentDocument = {
      id: assignment.name.toLowerCase(),
      principalId: assignment.principalId,
      assignment,
    };
    try {
      await this.container.items.create(doc);
      return { created: true, assignment };
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      const existing = await this.get(assignment.name);
      if (!existing) throw err;
      return { created: false, assignment: existing };
    }
  }

  async delete(name: string): Promise<boolean> {
    const id = name.toLowerCase();
    try {
      await this.container.item(id, id).delete();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  async listForPrincipal(principalId: string): Promise<StoredRoleAssignment[]> {
    return this.query({
      query: 'SELECT * FROM c WHERE c.principalId = @principalId',
      parameters: [{ name: '@principalId', value: principalId }],
    });
  }

  async listAll(): Promise<StoredRoleAssignment[]> {
    return this.query({ query: 'SELECT * FROM c', parameters: [] });
  }

  private async query(query: {
    query: string;
    parameters: { name: string; value: string }[];
  }): Promise<StoredRoleAssignment[]> {
    const { resources } = await this.container.items.query<RoleAssignmentDocument>(query).fetchAll();
    return resources.map((d) => d.assignment);
  }
}
