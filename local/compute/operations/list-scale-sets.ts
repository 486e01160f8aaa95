// GET …/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets and the subscription-wide list,
// paged with nextLink.
import type { Compute } from '../compute.js';
import { type HttpRequest, type HttpResponse, json } from '../http-types.js';
import { nextLinkFor, pageOf } from '../paging.js';
import { scaleSetView } from '../scale-set-model.js';

export function listScaleSets(
  c: Compute,
  req: HttpRequest,
  scope: { subscriptionId: string; resourceGroup?: string },
): HttpResponse {
  const sub = scope.subscriptionId.toLowerCase();
  const rg = scope.resourceGroup?.toLowerCase();
  const all = c.store
    .listScaleSets()
    .filter(
      (s) => s.subscriptionId.toLowerCase() === sub && (rg === undefined || s.resourceGroup.toLowerCase() === rg),
    );
  const page = pageOf(all, (s) => s.key, req.query.get('$skiptoken'), c.settings.pageSize);
  return json(200, {
    value: page.items.map(scaleSetView),
    ...(page.next ? { nextLink: nextLinkFor(req.baseUrl, req.path, req.query, page.next) } : {}),
  });
}
