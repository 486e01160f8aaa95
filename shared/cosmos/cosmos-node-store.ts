import type { Container, ItemDefinition } from '@azure/cosmos';
import type { NodeRecord } from '../domain/nodes.js';
import { emptyBlockTable, type RendezvousBlockTable } from '../domain/rendezvous-blocks.js';
import type { NodeStore, StoredNode } from '../stores/node-store.js';
import { conflictBackoff, MAX_CONFLICT_ATTEMPTS } from './conflict-backoff.js';

interface NodeDocument extends ItemDefinition {
  id: string;
  /** The scale set name: one partition per cluster or file server. */
  pk: string;
  kind: 'node' | 'heartbeat' | 'rendezvousBlocks';
  node?: NodeRecord;
  lastSeen?: string;
  bootId?: string;
  blocks?: RendezvousBlockTable;
}

// The rendezvous-block table lives in a partition of its own: scale-set names never contain `_`.
const BLOCKS_PK = '_rendezvous';
const BLOCKS_ID = 'rendezvous-blocks';

const nodeDocId = (instanceId: string) => `node|${instanceId}`;
// One heartbeat document per boot: a late heartbeat of a boot that was replaced (restart, service healing) writes
// its own document, which counts for nothing, instead of overwriting the current boot's. `hb|{instanceId}` without a
// boot is what earlier versions wrote; it still counts for a node whose boot has no document yet.
const heartbeatDocId = (instanceId: string, bootId?: string) =>
  bootId ? `hb|${instanceId}|${bootId}` : `hb|${instanceId}`;
const isHeartbeatOf = (docId: string, instanceId: string) =>
  docId === `hb|${instanceId}` || docId.startsWith(`hb|${instanceId}|`);

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export class CosmosNodeStore implements NodeStore {
  constructor(private readonly container: Container) {}

  async list(scaleSetName: string): Promise<StoredNode[]> {
    // The partition key is in the filter too: the local emulator ignores a query's partitionKey option.
    const { resources } = await this.container.items
      .query<NodeDocument>(
        { query: 'SELECT * FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: scaleSetName }] },
        { partitionKey: scaleSetName },
      )
      .fetchAll();
    const seen = new Map<string, string>();
    for (const doc of resources) {
      if (doc.kind === 'heartbeat' && doc.lastSeen) seen.set(doc.id, doc.lastSeen);
    }
    return resources
      .filter((d) => d.kind === 'node' && d.node)
      .map((d) => {
        const { instanceId, bootId } = d.node!;
        const lastSeen =
          (bootId ? seen.get(heartbeatDocId(instanceId, bootId)) : undefined) ?? seen.get(heartbeatDocId(instanceId));
        return { ...d.node!, ...(lastSeen ? { lastSeen } : {}) };
      });
  }

  async get(scaleSetName: string, instanceId: string): Promise<NodeRecord | undefined> {
    return (await this.read(scaleSetName, instanceId))?.node;
  }

  private async read(scaleSetName: string, instanceId: string): Promise<NodeDocument | undefined> {
    const { resource } = await this.container.item(nodeDocId(instanceId), scaleSetName).read<NodeDocument>();
    return resource;
  }

  async update(
    scaleSetName: string,
    instanceId: string,
    change: (current: NodeRecord | undefined) => NodeRecord | undefined,
  ): Promise<{ node: NodeRecord | undefined; changed: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.read(scaleSetName, instanceId);
      const next = change(current?.node);
      if (!next) return { node: current?.node, changed: false };
      const doc: NodeDocument = { id: nodeDocId(instanceId), pk: scaleSetName, kind: 'node', node: next };
      try {
        if (current) {
          await this.container.item(doc.id, scaleSetName).replace(doc, {
            accessCondition: { type: 'IfMatch', condition: current._etag as string },
          });
        } else {
          await this.container.items.create(doc);
        }
        return { node: next, changed: true };
      } catch (err) {
        const status = statusOf(err);
        // Someone else wrote (or created, or deleted) it meanwhile: read again and decide again.
        if ((status !== 412 && status !== 409 && status !== 404) || attempt >= MAX_CONFLICT_ATTEMPTS) throw err;
        await conflictBackoff(attempt);
      }
    }
  }

  async delete(scaleSetName: string, instanceId: string): Promise<void> {
    const { resources } = await this.container.items
      .query<{ id: string }>(
        { query: 'SELECT c.id FROM c WHERE c.pk = @pk', parameters: [{ name: '@pk', value: scaleSetName }] },
        { partitionKey: scaleSetName },
      )
      .fetchAll();
    const heartbeats = resources.map((d) => d.id).filter((id) => isHeartbeatOf(id, instanceId));
    await Promise.all(
      [nodeDocId(instanceId), ...heartbeats].map(async (id) => {
        try {
          await this.container.item(id, scaleSetName).delete();
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      }),
    );
  }

  async readRendezvousBlocks(): Promise<RendezvousBlockTable> {
    const { resource } = await this.container.item(BLOCKS_ID, BLOCKS_PK).read<NodeDocument>();
    return resource?.blocks ?? emptyBlockTable();
  }

  async updateRendezvousBlocks<R>(
    change: (current: RendezvousBlockTable) => { table?: RendezvousBlockTable; result: R },
  ): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      const { resource: current } = await this.container.item(BLOCKS_ID, BLOCKS_PK).read<NodeDocument>();
      const { table, result } = change(current?.blocks ?? emptyBlockTable());
      if (!table) return result;
      const doc: NodeDocument = { id: BLOCKS_ID, pk: BLOCKS_PK, kind: 'rendezvousBlocks', blocks: table };
      try {
        if (current) {
          await this.container.item(BLOCKS_ID, BLOCKS_PK).replace(doc, {
            accessCondition: { type: 'IfMatch', condition: current._etag as string },
          });
        } else {
          await this.container.items.create(doc);
        }
        return result;
      } catch (err) {
        const status = statusOf(err);
        if ((status !== 412 && status !== 409 && status !== 404) || attempt >= MAX_CONFLICT_ATTEMPTS) throw err;
        await conflictBackoff(attempt);
      }
    }
  }

  async touch(scaleSetName: string, instanceId: string, at: string, bootId?: string): Promise<void> {
    await this.container.items.upsert<NodeDocument>({
      id: heartbeatDocId(instanceId, bootId),
      pk: scaleSetName,
      kind: 'heartbeat',
      lastSeen: at,
      ...(bootId ? { bootId } : {}),
    });
  }
}
