import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { reconcileHooks } from '../../orchestrations/reconcile-hooks.js';
import { reconcileResources } from '../../shared/api/reconcile-resources.js';
import { DEFAULT_RECONCILE_POLICY } from '../../shared/domain/reconcile-decision.js';
import { appServices } from '../dependencies.js';

// Drives on resources left `creating` with no lifecycle (see shared/api/reconcile-resources.ts): at host
// start (runOnStartup) and every 30 s. RECONCILE_SCHEDULE (NCRONTAB, six fields) overrides the schedule.

export const RECONCILE_SCHEDULE = process.env.RECONCILE_SCHEDULE || '*/30 * * * * *';

export async function reconcileOnTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const { base } = await appServices();
  const outcomes = await reconcileResources(base, reconcileHooks(df.getClient(context)), DEFAULT_RECONCILE_POLICY);
  for (const o of outcomes) {
    if (o.error) context.warn(`reconcile ${o.resourceId}: ${o.decision.action} failed: ${o.error}`);
    else if (o.decision.action === 'start') context.log(`reconcile ${o.resourceId}: started (${o.decision.reason})`);
  }
}

export function registerReconciler(): void {
  app.timer('reconcileResources', {
    schedule: RECONCILE_SCHEDULE,
    runOnStartup: true,
    extraInputs: [df.input.durableClient()],
    handler: reconcileOnTimer,
  });
}
