/**
 * A k-way merge of sources each already in key order (the raw clicks of one link, read from its write
 * shards): one source ahead of the others costs nothing, and nothing is read before it is needed.
 */

/**
 * The items of every source in key order, lazily: each source is asked for its next item only when its
 * current one has been yielded. Equal keys come in source order. Stopping early (break, return) closes
 * every source, so their pending reads end.
 */
export async function* mergeOrdered<T>(sources: readonly AsyncIterable<T>[], keyOf: (item: T) => string): AsyncGenerator<T, void, undefined> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const headOf = async (iterator: AsyncIterator<T>): Promise<{ readonly item: T } | null> => {
    const result = await iterator.next();
    return result.done === true ? null : { item: result.value };
  };
  try {
    const heads = await Promise.all(iterators.map(headOf));
    for (;;) {
      let smallest = -1;
      let smallestKey = '';
      for (const [index, head] of heads.entries()) {
        if (head === null) continue;
        const key = keyOf(head.item);
        if (smallest === -1 || key < smallestKey) {
          smallest = index;
          smallestKey = key;
        }
      }
      const head = heads[smallest];
      if (smallest === -1 || head === null) return;
      yield head.item;
      heads[smallest] = await headOf(iterators[smallest]);
    }
  } finally {
    await Promise.all(iterators.map((iterator) => iterator.return?.()));
  }
}
