import fc from 'fast-check';
import { KEY_VALUE_STORE_LIMITS } from '../../lambdas/domain/edge-redirect';
import { EdgeKeyValueStore, type KeyValueStoreLimits } from '../../local/edge/key-value-store';

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

describe('the local KeyValueStore: limits', () => {
  it('takes keys up to 512 bytes and values up to 1 KB, counted in UTF-8 bytes', () => {
    const store = new EdgeKeyValueStore();
    expect(store.put('é'.repeat(256), 'v')).toMatchObject({ stored: true });
    expect(store.put('é'.repeat(256) + 'x', 'v')).toEqual({ stored: false, reason: 'key-too-large' });
    expect(store.put('k', 'é'.repeat(512))).toMatchObject({ stored: true });
    expect(store.put('k2', 'é'.repeat(512) + 'x')).toEqual({ stored: false, reason: 'value-too-large' });
    expect(store.put('', 'v')).toEqual({ stored: false, reason: 'empty-key' });
    expect(store.has('k2')).toBe(false);
    expect(KEY_VALUE_STORE_LIMITS).toEqual({ maxKeyBytes: 512, maxValueBytes: 1024, maxStoreBytes: 5 * 1024 * 1024 });
  });

  it('refuses an entry larger than the whole store', () => {
    const store = new EdgeKeyValueStore({ maxKeyBytes: 10, maxValueBytes: 10, maxStoreBytes: 8 });
    expect(store.put('key', 'value1')).toEqual({ stored: false, reason: 'larger-than-store' });
  });

  it('counts key and value bytes of what it holds', () => {
    const store = new EdgeKeyValueStore();
    store.put('a', 'ü');
    store.put('bb', 'xyz');
    expect([store.size, store.bytes]).toEqual([2, 1 + 2 + 2 + 3]);
    store.put('bb', 'x');
    expect([store.size, store.bytes]).toEqual([2, 1 + 2 + 2 + 1]);
    expect(store.delete('a')).toBe(true);
    expect(store.delete('a')).toBe(false);
    expect([store.size, store.bytes]).toEqual([1, 3]);
  });

  it('answers get with the value, or undefined for a key it does not hold', () => {
    const store = new EdgeKeyValueStore();
    store.put('a', '1');
    expect([store.get('a'), store.get('b')]).toEqual(['1', undefined]);
  });
});

describe('the local KeyValueStore: when full', () => {
  /** Room for exactly three entries of a one-character key and a two-character value. */
  const threeEntries: KeyValueStoreLimits = { ...KEY_VALUE_STORE_LIMITS, maxStoreBytes: 9 };

  it('evicts the least recently clicked keys first', () => {
    const store = new EdgeKeyValueStore(threeEntries);
    for (const key of ['a', 'b', 'c']) store.put(key, 'vv');
    store.get('a');
    expect(store.put('d', 'vv')).toEqual({ stored: true, evicted: ['b'] });
    store.get('c');
    expect(store.put('e', 'vv')).toEqual({ stored: true, evicted: ['a'] });
    expect(['a', 'b', 'c', 'd', 'e'].filter((key) => store.has(key))).toEqual(['c', 'd', 'e']);
  });

  it('evicts as many keys as the new entry needs', () => {
    const store = new EdgeKeyValueStore(threeEntries);
    for (const key of ['a', 'b', 'c']) store.put(key, 'vv');
    expect(store.put('d', 'vvvvvvv')).toEqual({ stored: true, evicted: ['a', 'b', 'c'] });
    expect(store.bytes).toBe(8);
  });

  it('lets a new key in as recently used, and a rewrite keep its place', () => {
    const store = new EdgeKeyValueStore(threeEntries);
    for (const key of ['a', 'b', 'c']) store.put(key, 'vv');
    // Rewriting "a" does not make it recent: it is still the first to go.
    store.put('a', 'ww');
    expect(store.put('d', 'vv')).toEqual({ stored: true, evicted: ['a'] });
    expect(store.put('e', 'vv')).toEqual({ stored: true, evicted: ['b'] });
  });

  it('never evicts the key it is rewriting to make room for its larger value', () => {
    const store = new EdgeKeyValueStore(threeEntries);
    for (const key of ['a', 'b', 'c']) store.put(key, 'vv');
    expect(store.put('a', 'vvvvvv')).toEqual({ stored: true, evicted: ['b', 'c'] });
    expect(store.get('a')).toBe('vvvvvv');
  });

  it('has does not count as a click', () => {
    const store = new EdgeKeyValueStore(threeEntries);
    for (const key of ['a', 'b', 'c']) store.put(key, 'vv');
    store.has('a');
    expect(store.put('d', 'vv')).toEqual({ stored: true, evicted: ['a'] });
  });

  type Operation = { put: [string, string] } | { get: string } | { delete: string };
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'ü');
  const operation: fc.Arbitrary<Operation> = fc.oneof(
    fc.tuple(key, fc.string({ maxLength: 12 })).map((entry): Operation => ({ put: entry })),
    key.map((name): Operation => ({ get: name })),
    key.map((name): Operation => ({ delete: name })),
  );

  it('stays within its size, counts its bytes right, and drops only the least recently used, for any operations', () => {
    const limits: KeyValueStoreLimits = { maxKeyBytes: 4, maxValueBytes: 12, maxStoreBytes: 20 };
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const store = new EdgeKeyValueStore(limits);
        // The model: entries least recently used first.
        let model: [string, string][] = [];
        for (const op of operations) {
          if ('put' in op) {
            const [name, value] = op.put;
            const result = store.put(name, value);
            if (!result.stored) continue;
            const existing = model.findIndex(([held]) => held === name);
            const others = model.filter(([held]) => held !== name);
            const expectedEvicted: string[] = [];
            let total = others.reduce((sum, [k, v]) => sum + bytes(k) + bytes(v), 0) + bytes(name) + bytes(value);
            for (const [k, v] of others) {
              if (total <= limits.maxStoreBytes) break;
              total -= bytes(k) + bytes(v);
              expectedEvicted.push(k);
            }
            expect(result.evicted).toEqual(expectedEvicted);
            model = existing === -1 ? [...model, [name, value]] : model.map(([k, v]): [string, string] => [k, k === name ? value : v]);
            model = model.filter(([k]) => !expectedEvicted.includes(k));
          } else if ('get' in op) {
            const held = model.find(([k]) => k === op.get);
            expect(store.get(op.get)).toBe(held?.[1]);
            if (held !== undefined) model = [...model.filter(([k]) => k !== op.get), held];
          } else {
            expect(store.delete(op.delete)).toBe(model.some(([k]) => k === op.delete));
            model = model.filter(([k]) => k !== op.delete);
          }
          expect(store.bytes).toBe(model.reduce((sum, [k, v]) => sum + bytes(k) + bytes(v), 0));
          expect(store.bytes).toBeLessThanOrEqual(limits.maxStoreBytes);
          expect(store.size).toBe(model.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
