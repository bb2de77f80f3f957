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

describe('the local KeyValueStore: when full, as strict as AWS', () => {
  /** Room for exactly three entries of a one-character key and a two-character value. */
  const threeEntries: KeyValueStoreLimits = { ...KEY_VALUE_STORE_LIMITS, maxStoreBytes: 9 };

  it('refuses a write that would pass its size, evicting nothing, whatever was read', () => {
    const store = new EdgeKeyValueStore(threeEntries);
    for (const key of ['a', 'b', 'c']) store.put(key, 'vv');
    store.get('a');
    expect(store.put('d', 'vv')).toEqual({ stored: false, reason: 'store-full' });
    expect(store.put('a', 'vvv')).toEqual({ stored: false, reason: 'store-full' });
    expect(store.sortedEntries()).toEqual([
      ['a', 'vv'],
      ['b', 'vv'],
      ['c', 'vv'],
    ]);
    // A rewrite that does not grow fits; so does a new entry once another is deleted.
    expect(store.put('a', 'ww')).toEqual({ stored: true });
    store.delete('b');
    expect(store.put('d', 'vv')).toEqual({ stored: true });
  });

  it('refuses an entry larger than the whole store', () => {
    const store = new EdgeKeyValueStore({ maxKeyBytes: 10, maxValueBytes: 10, maxStoreBytes: 8 });
    expect(store.put('key', 'value1')).toEqual({ stored: false, reason: 'store-full' });
  });

  type Operation = { put: [string, string] } | { delete: string };
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'ü');
  const operation: fc.Arbitrary<Operation> = fc.oneof(
    fc.tuple(key, fc.string({ maxLength: 12 })).map((entry): Operation => ({ put: entry })),
    key.map((name): Operation => ({ delete: name })),
  );

  it('stays within its size, counts its bytes right, and refuses exactly the writes that would pass it, for any operations', () => {
    const limits: KeyValueStoreLimits = { maxKeyBytes: 4, maxValueBytes: 12, maxStoreBytes: 20 };
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const store = new EdgeKeyValueStore(limits);
        const model = new Map<string, string>();
        const modelBytes = (): number => [...model].reduce((sum, [k, v]) => sum + bytes(k) + bytes(v), 0);
        for (const op of operations) {
          if ('put' in op) {
            const [name, value] = op.put;
            const previous = model.get(name);
            const after = modelBytes() - (previous === undefined ? 0 : bytes(name) + bytes(previous)) + bytes(name) + bytes(value);
            const fits = bytes(name) <= limits.maxKeyBytes && bytes(value) <= limits.maxValueBytes && after <= limits.maxStoreBytes;
            expect(store.put(name, value).stored).toBe(fits);
            if (fits) model.set(name, value);
          } else {
            expect(store.delete(op.delete)).toBe(model.delete(op.delete));
          }
          expect(store.bytes).toBe(modelBytes());
          expect(store.bytes).toBeLessThanOrEqual(limits.maxStoreBytes);
          expect(store.sortedEntries()).toEqual([...model].sort(([x], [y]) => (x < y ? -1 : 1)));
        }
      }),
      { numRuns: 300 },
    );
  });
});
