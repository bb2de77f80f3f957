/**
 * Reads a ReportBatchItemFailures response the way Lambda does: no response, no list or an empty
 * list means success; an item identifier that is empty, missing or not in the batch makes the
 * whole batch a failure. Other fields (a tumbling window's `state`) are the caller's to check.
 * Returns the failed identifiers, or null when the response is invalid (whole batch failed).
 */
export function failedItemIdentifiers(result: unknown, batchIdentifiers: ReadonlySet<string>): ReadonlySet<string> | null {
  if (result === undefined || result === null) return new Set();
  if (typeof result !== 'object') return null;
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return null;
  const failed = new Set<string>();
  for (const failure of failures as unknown[]) {
    const identifier = typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof identifier !== 'string' || !batchIdentifiers.has(identifier)) return null;
    failed.add(identifier);
  }
  return failed;
}
