// GET …/virtualMachineScaleSets/{name}/virtualMachines (nextLink paging; $expand=instanceView adds statuses).
import type { Compute } from '../compute.js';
import { type HttpRequest, type HttpResponse, json } from '../http-types.js';
import { instanceSortKey, nextLinkFor, pageOf } from '../paging.js';
import { instanceView } from '../scale-set-model.js';
import { findScaleSet, type RouteParams } from './scale-set-lookup.js';

export function listInstances(c: Compute, req: HttpRequest, p: RouteParams): HttpResponse {
  const found = findScaleSet(c, p);
  if (!found.ok) return found.response;
  const ss = found.value;
  const expand = req.query.get('$expand')?.toLowerCase() === 'instanceview';
  const page = pageOf(
    c.store.listInstances(ss.key),
    (i) => instanceSortKey(i.instanceId),
    req.query.get('$skiptoken'),
    c.settings.pageSize,
  );
  return json(200, {
    value: page.items.map((i) => instanceView(ss, i, expand)),
    ...(page.next ? { nextLink: nextLinkFor(req.baseUrl, req.path, req.query, page.next) } : {}),
  });
}
