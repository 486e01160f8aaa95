import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A tiny stand-in for Azure Resource Manager that records what it is sent and answers as ARM does for VM scale
// sets: PUT 201 + Azure-AsyncOperation, PATCH/POST/DELETE 202 + Azure-AsyncOperation + Location, operation
// status resources, and the final GETs the SDK's pollers make. It holds just enough state to answer coherently.

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface ArmRecorder {
  url: string;
  requests: RecordedRequest[];
  /** The next long-running operation fails with this ARM error. */
  failNextOperation(error: { code: string; message: string }): void;
  close(): Promise<void>;
}

export async function startArmRecorder(): Promise<ArmRecorder> {
  const requests: RecordedRequest[] = [];
  const scaleSets = new Map<string, { capacity: number; body: Record<string, unknown>; next: number; vms: string[] }>();
  const operations = new Map<string, { status: string; error?: { code: string; message: string } }>();
  let nextFailure: { code: string; message: string } | undefined;
  let base = '';

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  const startOperation = (res: ServerResponse, status: number, location: string, body?: unknown) => {
    const id = randomUUID();
    const failure = nextFailure;
    nextFailure = undefined;
    operations.set(id, failure ? { status: 'Failed', error: failure } : { status: 'Succeeded' });
    const op = `${base}/subscriptions/sub/providers/Microsoft.Compute/locations/westus2/operations/${id}?api-version=2026-03-01`;
    send(res, status, body, { 'azure-asyncoperation': op, location: `${location}`, 'retry-after': '0' });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    const query = Object.fromEntries(url.searchParams);

    const op = /\/operations\/([^/]+)$/.exec(path);
    if (op) {
      const state = operations.get(op[1]!) ?? { status: 'Succeeded' };
      return send(res, 200, { name: op[1], status: state.status, ...(state.error ? { error: state.error } : {}) });
    }
    requests.push({
      method: req.method ?? '',
      path,
      query,
      headers: req.headers,
      body: text ? JSON.parse(text) : undefined,
    });

    const m = /\/virtualMachineScaleSets\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) return send(res, 404, { error: { code: 'NotFound', message: path } });
    const name = m[1]!;
    const rest = m[2] ?? '';
    const resourceUrl = `${base}${path.replace(rest, '')}?api-version=2026-03-01`;
    const vmss = scaleSets.get(name);
    const view = () => {
      const s = scaleSets.get(name)!;
      return {
        ...s.body,
        name,
        sku: { ...(s.body['sku'] as object), capacity: s.capacity },
        properties: { ...(s.body['properties'] as object), provisioningState: 'Succeeded' },
      };
    };
    const resize = (capacity: number) => {
      const s = scaleSets.get(name)!;
      while (s.vms.length < capacity) s.vms.push(String(s.next++));
      s.vms = s.vms.slice(0, capacity);
      s.capacity = capacity;
    };

    if (rest === '' && req.method === 'PUT') {
      const body = JSON.parse(text) as Record<string, unknown>;
      const existed = scaleSets.has(name);
      if (!existed) scaleSets.set(name, { capacity: 0, body, next: 0, vms: [] });
      if (!nextFailure) resize((body['sku'] as { capacity?: number }).capacity ?? 0);
      return startOperation(res, existed ? 200 : 201, resourceUrl, view());
    }
    if (!vmss) return send(res, 404, { error: { code: 'ResourceNotFound', message: `scale set ${name} not found` } });
    if (rest === '' && req.method === 'GET') return send(res, 200, view());
    if (rest === '' && req.method === 'PATCH') {
      const body = JSON.parse(text) as { sku?: { capacity?: number } };
      if (!nextFailure && body.sku?.capacity !== undefined) resize(body.sku.capacity);
      return startOperation(res, 202, resourceUrl);
    }
    if (rest === '' && req.method === 'DELETE') {
      scaleSets.delete(name);
      return startOperation(res, 202, resourceUrl);
    }
    if (rest === '/delete' && req.method === 'POST') {
      const ids = (JSON.parse(text) as { instanceIds: string[] }).instanceIds;
      vmss.vms = vmss.vms.filter((v) => !ids.includes(v));
      vmss.capacity = vmss.vms.length;
      return startOperation(res, 202, resourceUrl);
    }
    if (rest === '/virtualMachines' && req.method === 'GET') {
      return send(res, 200, {
        value: vmss.vms.map((id) => ({
          name: `${name}_${id}`,
          instanceId: id,
          properties: {
            vmId: `vm-${name}-${id}`,
            provisioningState: 'Succeeded',
            instanceView: { statuses: [{ code: 'ProvisioningState/succeeded' }, { code: 'PowerState/running' }] },
          },
        })),
      });
    }
    if (/^\/virtualMachines\/[^/]+\/(restart|reimage)$/.test(rest) && req.method === 'POST') {
      return startOperation(res, 202, resourceUrl);
    }
    return send(res, 400, { error: { code: 'UnsupportedRequest', message: `${req.method} ${path}` } });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => send(res, 500, { error: { code: 'RecorderFailed', message: String(err) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    failNextOperation: (error) => {
      nextFailure = error;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
