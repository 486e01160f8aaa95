import type { RegisteredFunction } from './contracts.js';

/** The functions whose trigger is of `type` (binding types are matched case-insensitively, as the host does). */
export function functionsTriggeredBy(functions: readonly RegisteredFunction[], type: string): RegisteredFunction[] {
  const wanted = type.toLowerCase();
  return functions.filter((f) => f.trigger.binding.type.toLowerCase() === wanted);
}
