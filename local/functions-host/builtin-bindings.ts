// The one list of what this host supports natively: trigger types it drives itself and the storage
// bindings. Extensions add theirs (see binding-provider.ts). Validation here turns a bad registration
// into a start error that names the function.

import { resolveAppSettingRefs, stringSetting } from './app-settings.js';
import type { BindingProvider } from './binding-provider.js';
import { parseSchedule } from './ncrontab.js';
import { type QueueSettings, queueSettings } from './queue-settings.js';
import { compileRoute } from './route-template.js';
import { storageBindingProvider } from './storage-bindings.js';

const AUTH_LEVELS = ['anonymous', 'function', 'admin'];

function tryOrMessage(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export const builtinTriggerProvider: BindingProvider = {
  name: 'builtin-triggers',
  triggerTypes: ['httpTrigger', 'queueTrigger', 'blobTrigger', 'eventGridTrigger', 'timerTrigger'],
  // The HTTP response ($return) is handled by the HTTP trigger itself.
  outputBindingTypes: ['http'],
  validate(_fn, binding) {
    switch (binding.type.toLowerCase()) {
      case 'httptrigger': {
        const level = String(binding.authLevel ?? 'anonymous').toLowerCase();
        if (!AUTH_LEVELS.includes(level)) return `unknown authLevel "${String(binding.authLevel)}"`;
        if (typeof binding.route === 'string') return tryOrMessage(() => compileRoute(binding.route as string));
        return undefined;
      }
      case 'queuetrigger':
        if (!binding.queueName) return 'queue trigger has no queueName';
        return tryOrMessage(() => resolveAppSettingRefs(String(binding.queueName)));
      case 'blobtrigger': {
        if (!binding.path) return 'blob trigger has no path';
        const source = String(binding.source ?? 'LogsAndContainerScan');
        if (source.toLowerCase() !== 'eventgrid') {
          return `blob trigger source "${source}" (container polling) is not supported by the local host; use source: 'EventGrid'`;
        }
        return undefined;
      }
      case 'timertrigger':
        if (!binding.schedule) return 'timer trigger has no schedule';
        return tryOrMessage(() => parseSchedule(stringSetting(binding, 'schedule') ?? ''));
      default:
        return undefined;
    }
  },
};

export function builtinBindingProviders(getQueueSettings?: () => QueueSettings): BindingProvider[] {
  return [builtinTriggerProvider, storageBindingProvider(getQueueSettings ?? (() => queueSettings({})))];
}
