import type { Container, ContainerRequest, Database } from '@azure/cosmos';
import { type ClusterSchedule, clusterScheduleSchema, emptySchedule } from '../domain/scheduling.js';
import type { ScheduleStore } from '../stores/schedule-store.js';
import { conflictBackoff, MAX_CONFLICT_ATTEMPTS } from './conflict-backoff.js';

// One document per cluster in the `schedules` container, partitioned by the cluster (a point read and a conditional
// replace, never a query or a batch: both atomic on Cosmos and on the local emulator).

export const SCHEDULES_CONTAINER: ContainerRequest = { id: 'schedules', partitionKey: { paths: ['/pk'] } };

const DOCUMENT_ID = 'schedule';
const MAX_ATTEMPTS = MAX_CONFLICT_ATTEMPTS;

interface ScheduleDocument extends ClusterSchedule {
  id: string;
  pk: string;
  _etag?: string;
}

/** Creates the container (idempotent). */
export async function ensureSchedulesContainer(database: Database): Promise<Container> {
  return (await database.containers.createIfNotExists(SCHEDULES_CONTAINER)).container;
}

export class ScheduleConflictError extends Error {
  constructor(readonly clusterId: string) {
    super(`the schedule of ${clusterId} kept changing under ${MAX_ATTEMPTS} attempts; try again`);
    this.name = 'ScheduleConflictError';
  }
}

export class CosmosScheduleStore implements ScheduleStore {
  constructor(private readonly container: Container) {}

  async read(clusterId: string): Promise<ClusterSchedule> {
    return (await this.readDocument(clusterId)).doc;
  }

  async update<R>(
    clusterId: string,
    change: (current: ClusterSchedule) => { doc: ClusterSchedule; result: R },
  ): Promise<{ doc: ClusterSchedule; result: R }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { doc: current, etag } = await this.readDocument(clusterId);
      const next = change(current);
      if (next.doc === current) return next;
      const body: ScheduleDocument = { ...clusterScheduleSchema.parse(next.doc), id: DOCUMENT_ID, pk: pkOf(clusterId) };
      try {
        if (etag === undefined) await this.container.items.create(body);
        else
          await this.container
            .item(DOCUMENT_ID, body.pk)
            .replace(body, { accessCondition: { type: 'IfMatch', condition: etag } });
        return next;
      } catch (err) {
        // 412: someone wrote since our read; 409: someone created it first; 404: deleted meanwhile. Recompute.
        const status = statusOf(err);
        if (status !== 412 && status !== 409 && status !== 404) throw err;
        await conflictBackoff(attempt);
      }
    }
    throw new ScheduleConflictError(clusterId);
  }

  async delete(clusterId: string): Promise<void> {
    try {
      await this.container.item(DOCUMENT_ID, pkOf(clusterId)).delete();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  private async readDocument(clusterId: string): Promise<{ doc: ClusterSchedule; etag?: string }> {
    const { resource } = await this.container.item(DOCUMENT_ID, pkOf(clusterId)).read<ScheduleDocument>();
    if (!resource) return { doc: emptySchedule(clusterId) };
    const { id: _id, pk: _pk, _etag, ...rest } = resource;
    const doc = clusterScheduleSchema.parse(rest);
    return _etag === undefined ? { doc } : { doc, etag: _etag };
  }
}

// ARM ids are case-insensitive: one cluster, one partition, whatever the casing a caller used.
const pkOf = (clusterId: string) => clusterId.toLowerCase();

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}
