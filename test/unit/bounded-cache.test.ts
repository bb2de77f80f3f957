import fc from 'fast-check';
import { BoundedCache } from '../../lambdas/domain/bounded-cache';

describe('BoundedCache', () => {
  it('computes each key once while it stays cached', () => {
    const cache = new BoundedCache<string>(10);
    const computed: string[] = [];
    const upper = (key: string): string => {
      computed.push(key);
      return key.toUpperCase();
    };
    expect([cache.get('a', upper), cache.get('b', upper), cache.get('a', upper), cache.get('b', upper)]).toEqual(['A', 'B', 'A', 'B']);
    expect(computed).toEqual(['a', 'b']);
  });

  it('has tells whether a key is cached, without computing it or keeping it longer', () => {
    const cache = new BoundedCache<boolean>(4);
    expect(cache.has('a')).toBe(false);
    cache.get('a', () => true);
    expect([cache.has('a'), cache.has('b'), cache.entries]).toEqual([true, false, 1]);
    // Two generations of two: 'a' is forgotten once four newer keys went in, whatever has asked.
    for (const key of ['b', 'c', 'd', 'e']) {
      cache.has('a');
      cache.get(key, () => true);
    }
    expect(cache.has('a')).toBe(false);
  });

  it('keeps what was used recently and forgets what was not, within its capacity', () => {
    const cache = new BoundedCache<number>(4);
    const computed: string[] = [];
    const length = (key: string): number => {
      computed.push(key);
      return key.length;
    };
    for (const key of ['hot', 'x1', 'hot', 'x2', 'hot', 'x3', 'hot', 'x4', 'hot', 'x5']) cache.get(key, length);
    // 'hot' was used in every generation: computed once; the one-off keys were each computed once too.
    expect(computed).toEqual(['hot', 'x1', 'x2', 'x3', 'x4', 'x5']);
    cache.get('x1', length);
    expect(computed.at(-1)).toBe('x1');
  });

  it('never holds more than its capacity, and always answers what compute would, for any sequence of keys', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 50 }), fc.array(fc.string({ maxLength: 3 }), { maxLength: 500 }), (capacity, keys) => {
        const cache = new BoundedCache<string>(capacity);
        for (const key of keys) {
          expect(cache.get(key, (k) => `value of ${k}`)).toBe(`value of ${key}`);
          expect(cache.entries).toBeLessThanOrEqual(capacity);
        }
      }),
    );
  });

  it('answers what was last set or computed for a key, or nothing once deleted, for any sequence of operations', () => {
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.string({ maxLength: 2 }), value: fc.integer() }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.string({ maxLength: 2 }) }),
      fc.record({ kind: fc.constant('peek' as const), key: fc.string({ maxLength: 2 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 20 }), fc.array(operation, { maxLength: 300 }), (capacity, operations) => {
        const cache = new BoundedCache<number>(capacity);
        const latest = new Map<string, number>();
        for (const op of operations) {
          if (op.kind === 'set') {
            cache.set(op.key, op.value);
            latest.set(op.key, op.value);
          } else if (op.kind === 'delete') {
            cache.delete(op.key);
            latest.delete(op.key);
          } else {
            const peeked = cache.peek(op.key);
            // Forgotten is allowed (the capacity); a value other than the latest never is.
            if (peeked !== undefined) expect(peeked).toBe(latest.get(op.key));
          }
          expect(cache.entries).toBeLessThanOrEqual(capacity);
        }
      }),
    );
  });

  it('refuses a capacity it could not honour', () => {
    expect(() => new BoundedCache(1)).toThrow(RangeError);
    expect(() => new BoundedCache(Number.NaN)).toThrow(RangeError);
  });
});
