// Event subscription filters, as Azure evaluates them. Pure.
import { type AnyEvent, eventTypeOf, subjectOf } from './event-schemas.js';

export interface SubscriptionFilter {
  /** Absent or null means every event type (Azure's default). */
  includedEventTypes?: readonly string[] | null;
  subjectBeginsWith?: string;
  subjectEndsWith?: string;
  /** Azure compares subjects case-insensitively unless told otherwise. */
  isSubjectCaseSensitive?: boolean;
}

export function matchesFilter(filter: SubscriptionFilter, e: AnyEvent): boolean {
  const types = filter.includedEventTypes;
  // Event types are compared case-insensitively by Azure.
  if (types && types.length > 0) {
    const type = eventTypeOf(e).toLowerCase();
    if (!types.some((t) => t.toLowerCase() === type)) return false;
  }
  const fold = (s: string) => (filter.isSubjectCaseSensitive ? s : s.toLowerCase());
  const subject = fold(subjectOf(e));
  if (filter.subjectBeginsWith && !subject.startsWith(fold(filter.subjectBeginsWith))) return false;
  if (filter.subjectEndsWith && !subject.endsWith(fold(filter.subjectEndsWith))) return false;
  return true;
}
