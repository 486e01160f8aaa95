// What a failed invocation is logged as. durable-functions wraps an orchestrator's failure in an
// OrchestrationFailureError whose message is `<orchestratorReturned>\n\n$OutOfProcData$:<state JSON>`:
// the text before the label is the boolean `false`, and the stack is lost. The real error is the state's
// `error` (for a failed activity it already carries the activity's message and stack) and `failureDetails`.

const OUT_OF_PROC_LABEL = '$OutOfProcData$:';

export interface DescribedError {
  message: string;
  /** Stack trace or failure details, when there are any. */
  details?: string;
}

interface FailureDetailsPayload {
  ErrorType?: string;
  ErrorMessage?: string;
  StackTrace?: string;
  InnerFailure?: FailureDetailsPayload;
}

function detailsText(d: FailureDetailsPayload | undefined): string | undefined {
  const parts: string[] = [];
  for (let f = d; f; f = f.InnerFailure) {
    if (f.StackTrace) parts.push(f.StackTrace);
    else if (f.ErrorType || f.ErrorMessage) parts.push(`${f.ErrorType ?? 'Error'}: ${f.ErrorMessage ?? ''}`);
  }
  return parts.length > 0 ? parts.join('\n--- inner failure ---\n') : undefined;
}

export function describeError(err: Error): DescribedError {
  const at = err.message.indexOf(OUT_OF_PROC_LABEL);
  if (at < 0) return err.stack ? { message: err.message, details: err.stack } : { message: err.message };
  let state: { error?: unknown; failureDetails?: FailureDetailsPayload } | undefined;
  try {
    state = JSON.parse(err.message.slice(at + OUT_OF_PROC_LABEL.length)) as typeof state;
  } catch {
    state = undefined;
  }
  const message =
    typeof state?.error === 'string' && state.error !== ''
      ? state.error
      : err.message.slice(0, at).trim() || 'The orchestrator failed without an error message.';
  const details = detailsText(state?.failureDetails);
  return details ? { message, details } : { message };
}
