import fc from 'fast-check';
import { mergeOrdered } from '../../lambdas/domain/ordered-merge';

interface Tracked {
  readonly source: AsyncIterable<string>;
  /** Items handed out so far. */
  readonly read: () => number;
  readonly closed: () => boolean;
}

/** A source over sorted keys that counts what it handed out and whether it was closed. */
function tracked(keys: readonly string[]): Tracked {
  let read = 0;
  let closed = false;
  async function* source(): AsyncGenerator<string, void, undefined> {
    try {
      for (const key of keys) {
        read += 1;
        yield key;
      }
    } finally {
      closed = true;
    }
  }
  return { source: source(), read: () => read, closed: () => closed };
}

const sortedKeys = fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'c', '#', '0', '9'), maxLength: 4 }), { maxLength: 12 }).map((keys) => [...keys].sort());

async function collect(merged: AsyncIterable<string>, take = Infinity): Promise<string[]> {
  const items: string[] = [];
  for await (const item of merged) {
    if (items.length === take) break;
    items.push(item);
  }
  return items;
}

describe('mergeOrdered', () => {
  it('gives every item of every source once, in key order, whatever the sources hold', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(sortedKeys, { minLength: 1, maxLength: 16 }), async (sources) => {
        const merged = await collect(mergeOrdered(sources.map((keys) => tracked(keys).source), (key) => key));
        expect(merged).toEqual(sources.flat().sort());
      }),
    );
  });

  it('takes equal keys in source order', async () => {
    async function* source(number: number, keys: readonly string[]): AsyncGenerator<{ key: string; source: number }, void, undefined> {
      for (const key of keys) yield { key, source: number };
    }
    const merged: string[] = [];
    for await (const item of mergeOrdered([source(0, ['k#1', 'k#3']), source(1, ['k#1', 'k#2'])], (item) => item.key)) merged.push(`${item.key} of ${item.source}`);
    expect(merged).toEqual(['k#1 of 0', 'k#1 of 1', 'k#2 of 1', 'k#3 of 0']);
  });

  it('reads a source only as far as the merge needs, and closes every source when stopped early', async () => {
    const sources = [tracked(['a', 'd', 'e', 'f']), tracked(['b', 'c', 'g']), tracked([])];
    expect(await collect(mergeOrdered(sources.map((source) => source.source), (key) => key), 3)).toEqual(['a', 'b', 'c']);
    // The fourth item was asked for (to learn that it was the last wanted): 'd' from the first source.
    expect(sources.map((source) => source.read())).toEqual([2, 3, 0]);
    expect(sources.every((source) => source.closed())).toBe(true);
  });
});
