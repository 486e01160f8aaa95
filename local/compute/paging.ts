// nextLink paging. The continuation token is the sort key of the last item returned, so a page boundary stays
// right when items are added or removed between pages (an offset would skip or repeat items). Pure.

export interface Page<T> {
  items: T[];
  /** The token for the next page, or undefined on the last page. */
  next: string | undefined;
}

export function pageOf<T>(
  sorted: readonly T[],
  keyOf: (item: T) => string,
  after: string | null,
  size: number,
): Page<T> {
  const start = after === null ? 0 : sorted.findIndex((item) => keyOf(item) > after);
  const rest = start < 0 ? [] : sorted.slice(start);
  const items = rest.slice(0, size);
  const last = items.at(-1);
  return { items, next: rest.length > size && last !== undefined ? keyOf(last) : undefined };
}

/** The nextLink URL: the request's own URL with the token set (api-version and filters kept). */
export function nextLinkFor(baseUrl: string, path: string, query: URLSearchParams, token: string): string {
  const q = new URLSearchParams(query);
  q.set('$skiptoken', token);
  return `${baseUrl}${path}?${q.toString()}`;
}

/** Fixed-width numeric sort key, so instance ids sort numerically as strings. */
export const instanceSortKey = (instanceId: number): string => String(instanceId).padStart(10, '0');
