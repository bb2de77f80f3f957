import { CachedLinkLookup } from '../../lambdas/shared/link-cache';

/** A table stand-in that counts reads and answers what the test says the table holds now. */
function table(initial: Record<string, string>) {
  const rows = new Map(Object.entries(initial));
  let reads = 0;
  return {
    rows,
    reads: () => reads,
    find: async (code: string): Promise<string | null> => {
      reads += 1;
      return rows.get(code) ?? null;
    },
  };
}

describe('the link cache', () => {
  it('serves a link from memory for its TTL, then sees a change (disabled, deleted or moved) on the next read', async () => {
    const links = table({ abc: 'https://example.com/' });
    const cache = new CachedLinkLookup(links.find, 60);
    expect(await cache.get('abc', 0)).toBe('https://example.com/');
    links.rows.delete('abc');
    // Within the TTL the environment still has it: this is the README's "at the latest 60 seconds".
    expect(await cache.get('abc', 59_999)).toBe('https://example.com/');
    expect(links.reads()).toBe(1);
    expect(await cache.get('abc', 60_000)).toBeNull();
    expect(links.reads()).toBe(2);
  });

  it('remembers an unknown code for 5 s at most, so a new link works soon', async () => {
    const links = table({});
    const cache = new CachedLinkLookup(links.find, 60);
    expect(await cache.get('new', 0)).toBeNull();
    links.rows.set('new', 'https://example.org/');
    expect(await cache.get('new', 4_999)).toBeNull();
    expect(await cache.get('new', 5_000)).toBe('https://example.org/');
  });

  it('reads the table every time with a TTL of 0', async () => {
    const links = table({ abc: 'https://example.com/' });
    const cache = new CachedLinkLookup(links.find, 0);
    await cache.get('abc', 0);
    await cache.get('abc', 0);
    await cache.get('missing', 0);
    expect(links.reads()).toBe(3);
    expect(cache.size).toBe(0);
  });

  it('holds at most 10,000 links, dropping the one cached longest ago', async () => {
    const links = table({});
    const cache = new CachedLinkLookup(links.find, 60);
    for (let n = 0; n < 10_050; n++) await cache.get(`code${n}`, 0);
    expect(cache.size).toBe(10_000);
    const before = links.reads();
    await cache.get('code10049', 1);
    expect(links.reads()).toBe(before);
    await cache.get('code0', 1);
    expect(links.reads()).toBe(before + 1);
  });
});
