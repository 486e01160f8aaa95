import { app, type InvocationContext } from '@azure/functions';
import { secretRedactor } from '../shared/secrets/redactor.js';

// Every log line the app writes goes through context.log/trace/debug/info/warn/error, and every error a handler
// throws is logged by the host: both pass through the redactor here, before any app code runs, so no function has
// to remember to redact.

const LEVELS = ['log', 'trace', 'debug', 'info', 'warn', 'error'] as const;

export function redactLogsOf(context: InvocationContext): void {
  for (const level of LEVELS) {
    const write = context[level].bind(context);
    context[level] = (...args: unknown[]) => write(...args.map((a) => secretRedactor.redactValue(a)));
  }
}

export function registerLogRedaction(): void {
  app.hook.preInvocation((hook) => {
    const context = hook.invocationContext as InvocationContext;
    redactLogsOf(context);
    // Orchestrators replay synchronously and report their own failures through the durable runtime: left as is.
    if (/^(orchestration|entity)Trigger$/.test(context.options.trigger.type)) return;
    const handler = hook.functionHandler;
    hook.functionHandler = async (...args: unknown[]) => {
      try {
        return await (handler as (...a: unknown[]) => unknown)(...args);
      } catch (err) {
        throw secretRedactor.redactValue(err);
      }
    };
  });
}
