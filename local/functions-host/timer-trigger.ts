// Timer triggers: NCRONTAB schedules (UTC), `runOnStartup`, and `isPastDue`. The schedule status (last,
// next) is persisted in `<dataDir>/timers.json` like Azure's schedule monitor, so an occurrence missed
// while the host was down runs once at start with isPastDue = true. Invocations of one timer never
// overlap: the next occurrence is computed after the previous invocation ends; an occurrence that
// fires more than a second late also reports isPastDue.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringSetting } from './app-settings.js';
import type { FunctionInvoker, HostLogger, RegisteredFunction } from './contracts.js';
import { functionsTriggeredBy } from './functions-triggered-by.js';
import { parseSchedule, type Schedule } from './ncrontab.js';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const PAST_DUE_TOLERANCE_MS = 1000;

interface ScheduleStatus {
  last: string;
  next: string;
  lastUpdated: string;
}

export interface TimerScheduler {
  start(): Promise<void>;
  stop(): void;
}

async function readStatus(file: string): Promise<Record<string, ScheduleStatus>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, ScheduleStatus>;
  } catch {
    return {};
  }
}

export function timerInput(isPastDue: boolean, status: ScheduleStatus | undefined) {
  // PascalCase like the host's TimerInfo; the library camel-cases it (schedule.adjustForDST, isPastDue, …).
  return {
    json: JSON.stringify({
      Schedule: { AdjustForDST: true },
      ScheduleStatus: status ? { Last: status.last, Next: status.next, LastUpdated: status.lastUpdated } : null,
      IsPastDue: isPastDue,
    }),
  };
}

export function createTimerScheduler(deps: {
  functions: readonly RegisteredFunction[];
  invoker: FunctionInvoker;
  dataDir: string;
  log: HostLogger;
}): TimerScheduler {
  const file = path.join(deps.dataDir, 'timers.json');
  const timers = functionsTriggeredBy(deps.functions, 'timerTrigger').map((fn) => ({
    fn,
    schedule: parseSchedule(stringSetting(fn.trigger.binding, 'schedule') ?? '') as Schedule,
    runOnStartup: fn.trigger.binding.runOnStartup === true,
  }));
  const handles = new Map<string, NodeJS.Timeout>();
  let statuses: Record<string, ScheduleStatus> = {};
  let stopped = false;
  let saving = Promise.resolve();

  function save(): void {
    const text = JSON.stringify(statuses, null, 2);
    saving = saving
      .then(async () => {
        await mkdir(deps.dataDir, { recursive: true });
        await writeFile(`${file}.tmp`, text);
        await rename(`${file}.tmp`, file);
      })
      .catch((err: Error) => deps.log.warn('Could not persist timer status', { file, error: err.message }));
  }

  async function fire(t: (typeof timers)[number], scheduledFor: Date | undefined, isPastDue: boolean) {
    const status = statuses[t.fn.name];
    const result = await deps.invoker.invoke(t.fn.name, timerInput(isPastDue, status), {});
    if (!result.ok)
      deps.log.warn('Timer-triggered function failed', { functionName: t.fn.name, error: result.error.message });
    const now = new Date();
    const last = scheduledFor ?? now;
    const next = t.schedule.next(now);
    statuses[t.fn.name] = { last: last.toISOString(), next: next?.toISOString() ?? '', lastUpdated: now.toISOString() };
    save();
  }

  function arm(t: (typeof timers)[number]): void {
    if (stopped) return;
    const next = t.schedule.next(new Date());
    if (!next) {
      deps.log.warn('Timer schedule has no future occurrence', { functionName: t.fn.name });
      return;
    }
    const wait = () => {
      const remaining = next.getTime() - Date.now();
      if (remaining > 0) {
        handles.set(t.fn.name, setTimeout(wait, Math.min(remaining, MAX_TIMEOUT_MS)));
        return;
      }
      handles.delete(t.fn.name);
      const late = -remaining > PAST_DUE_TOLERANCE_MS;
      void fire(t, next, late).finally(() => arm(t));
    };
    wait();
  }

  return {
    async start() {
      statuses = await readStatus(file);
      for (const t of timers) {
        const prev = statuses[t.fn.name];
        const missed = prev?.next ? new Date(prev.next) : undefined;
        const pastDue = missed !== undefined && !Number.isNaN(missed.getTime()) && missed.getTime() < Date.now();
        if (t.runOnStartup || pastDue) {
          deps.log.info('Running timer at start', { functionName: t.fn.name, runOnStartup: t.runOnStartup, pastDue });
          void fire(t, pastDue ? missed : undefined, pastDue).finally(() => arm(t));
        } else {
          // Record the first `next` so a restart after it can tell the occurrence was missed.
          const next = t.schedule.next(new Date());
          statuses[t.fn.name] = {
            last: prev?.last ?? '',
            next: next?.toISOString() ?? '',
            lastUpdated: new Date().toISOString(),
          };
          save();
          arm(t);
        }
      }
    },
    stop() {
      stopped = true;
      for (const h of handles.values()) clearTimeout(h);
      handles.clear();
    },
  };
}
