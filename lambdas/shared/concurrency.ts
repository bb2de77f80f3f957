/**
 * Like Promise.allSettled over items.map(fn), with at most `limit` calls running at once: keeps a
 * large batch from opening a socket per item and from tripping DynamoDB's per-partition limits.
 */
export async function settleWithLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await fn(items[index]) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** items.map(fn) with at most `limit` calls at once; rejects with the first failure (by position) once all have settled. */
export async function mapWithLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  return (await settleWithLimit(items, limit, fn)).map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });
}
