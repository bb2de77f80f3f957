/** Waiting and retrying, shared by the local stack's pollers and emulators. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The longest backoff: the longest a poller pauses between two attempts. */
export const BACKOFF_MAX_MS = 5_000;

/** Exponential backoff after the given number of consecutive failures (1 = the first), capped. */
export function backoffMs(failures: number, firstMs: number, maxMs = BACKOFF_MAX_MS): number {
  return Math.min(firstMs * 2 ** (failures - 1), maxMs);
}

/** One line for a retried failure: the emulators' transient errors need no stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
