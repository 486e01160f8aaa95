/**
 * Why a text is not JSON, without quoting it: engines put the text around the failure in their message, and a
 * request body can hold a password.
 */
export function describeJsonSyntaxError(err: unknown): string {
  const position = /position (\d+)/.exec(String((err as Error)?.message))?.[1];
  return position === undefined ? 'it is not valid JSON' : `it is not valid JSON (error at character ${position})`;
}
