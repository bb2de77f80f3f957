/** One line for a retried failure: the emulators' transient errors need no stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
