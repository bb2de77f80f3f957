import { crc32, deflateRawSync } from 'node:zlib';
import { syntheticVisitorKeys } from '../../bench/uniques';
import { InvalidSketch, VisitorSketch } from '../../lambdas/domain/visitor-sketch';

/** docs/uniques.md: exact up to 2,048 visitors, HyperLogLog above. */
const EXACT_LIMIT = 2048;
/** Serialised layout (docs/uniques.md): version, mode, body, CRC-32 of what precedes it. */
const HEADER_AND_CRC = 6;
const HASH_BYTES = 5;

function sketchOf(keys: readonly string[]): VisitorSketch {
  const sketch = VisitorSketch.empty();
  for (const key of keys) sketch.add(key);
  return sketch;
}

function merged(target: VisitorSketch, source: VisitorSketch): VisitorSketch {
  const result = target.clone();
  result.merge(source);
  return result;
}

/** Bytes in the documented layout, with a valid checksum, so the structural checks are what is tested. */
function framed(version: number, mode: number, body: Uint8Array): Uint8Array {
  const head = Buffer.concat([Buffer.from([version, mode]), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(head));
  return new Uint8Array(Buffer.concat([head, crc]));
}

const relativeError = (sketch: VisitorSketch, truth: number): number => Math.abs(sketch.estimate() - truth) / truth;

// One pool of distinct keys; slices of it are the sets below.
const POOL = syntheticVisitorKeys(220_000, 42);
const keysFrom = (start: number, count: number): string[] => POOL.slice(start, start + count);

describe('VisitorSketch accuracy', () => {
  it('estimates 1,000,000 distinct visitors within 2%, in at most 6 KB', () => {
    const sketch = sketchOf(syntheticVisitorKeys(1_000_000, 1));
    expect(relativeError(sketch, 1_000_000)).toBeLessThanOrEqual(0.02);
    expect(sketch.toBytes().length).toBeLessThanOrEqual(6 * 1024);
  });

  it('is exact after every add from 0 to the 2,048 switch-over', () => {
    const sketch = VisitorSketch.empty();
    expect(sketch.estimate()).toBe(0);
    const misses: number[] = [];
    keysFrom(0, EXACT_LIMIT).forEach((key, i) => {
      sketch.add(key);
      if (sketch.estimate() !== i + 1) misses.push(i + 1);
    });
    expect(misses).toEqual([]);
  });

  it.each([1, 2, 3, 7, 10, 100, 999, 1000, 1999, 2000])('counts %i visitors of another seed exactly', (count) => {
    expect(sketchOf(syntheticVisitorKeys(count, 7)).estimate()).toBe(count);
  });

  it.each([EXACT_LIMIT + 1, 2100, 3000, 10_000, 50_000, 200_000])(
    'estimates %i visitors within 2% once past the switch-over',
    (count) => {
      const sketch = sketchOf(keysFrom(0, count));
      expect(Number.isInteger(sketch.estimate())).toBe(true);
      expect(relativeError(sketch, count)).toBeLessThanOrEqual(0.02);
    },
  );

  it('switches to the dense form on the 2,049th distinct visitor, which is smaller', () => {
    const sketch = sketchOf(keysFrom(0, EXACT_LIMIT));
    const exactBytes = sketch.toBytes().length;
    sketch.add(POOL[0]); // a repeat does not switch
    expect(sketch.toBytes().length).toBe(exactBytes);
    sketch.add(POOL[EXACT_LIMIT]);
    expect(sketch.toBytes().length).toBeLessThan(exactBytes / 2);
  });
});

describe('VisitorSketch duplicates', () => {
  it('ignores repeated visitors while exact', () => {
    const keys = keysFrom(0, 500);
    const sketch = sketchOf([...keys, ...keys, ...keys.slice(0, 100)]);
    expect(sketch.estimate()).toBe(500);
    expect(sketch.toBytes()).toEqual(sketchOf(keys).toBytes());
  });

  it('ignores repeated visitors once dense', () => {
    const keys = keysFrom(0, 20_000);
    const sketch = sketchOf(keys);
    const before = sketch.toBytes();
    for (const key of keys) sketch.add(key);
    expect(sketch.toBytes()).toEqual(before);
  });
});

describe('VisitorSketch merge', () => {
  // [description, first set, second set]: every combination of modes, disjoint and overlapping,
  // including two exact sketches whose union no longer fits the exact form.
  const cases: [string, string[], string[]][] = [
    ['exact + exact, disjoint', keysFrom(0, 300), keysFrom(300, 400)],
    ['exact + exact, overlapping', keysFrom(0, 1500), keysFrom(1000, 1000)],
    ['exact + exact, union past the switch-over', keysFrom(0, 1500), keysFrom(1000, 1500)],
    ['exact + dense, disjoint', keysFrom(0, 1000), keysFrom(1000, 30_000)],
    ['exact + dense, overlapping', keysFrom(0, 1000), keysFrom(500, 30_000)],
    ['exact + dense, contained', keysFrom(5000, 1000), keysFrom(0, 30_000)],
    ['dense + dense, disjoint', keysFrom(0, 50_000), keysFrom(50_000, 60_000)],
    ['dense + dense, overlapping', keysFrom(0, 50_000), keysFrom(20_000, 60_000)],
    ['empty + dense', [], keysFrom(0, 5000)],
    ['empty + empty', [], []],
  ];

  it.each(cases)('%s is the sketch of the union, in either order', (_, first, second) => {
    const union = sketchOf([...new Set([...first, ...second])]);
    const a = sketchOf(first);
    const b = sketchOf(second);
    const bBefore = b.toBytes();
    expect(merged(a, b).toBytes()).toEqual(union.toBytes());
    expect(merged(b, a).toBytes()).toEqual(union.toBytes());
    expect(merged(a, b).estimate()).toBe(union.estimate());
    expect(b.toBytes()).toEqual(bBefore); // the source is left alone
  });

  it('gives the exact union size while the union fits the exact form', () => {
    expect(merged(sketchOf(keysFrom(0, 1500)), sketchOf(keysFrom(1000, 1000))).estimate()).toBe(2000);
  });

  it('merging a sketch into itself changes nothing', () => {
    for (const count of [100, 10_000]) {
      const sketch = sketchOf(keysFrom(0, count));
      const before = sketch.toBytes();
      sketch.merge(sketch);
      expect(sketch.toBytes()).toEqual(before);
    }
  });

  it('merges 96 quarter-hour sketches of a day into the day, within 2%', () => {
    // Visitors come back across the day: each quarter sees a window of the day's 150,000.
    const day = VisitorSketch.empty();
    for (let quarter = 0; quarter < 96; quarter++) {
      day.merge(sketchOf(keysFrom(quarter * 1500, 3000)));
    }
    expect(day.toBytes()).toEqual(sketchOf(keysFrom(0, 95 * 1500 + 3000)).toBytes());
    expect(relativeError(day, 95 * 1500 + 3000)).toBeLessThanOrEqual(0.02);
  });
});

describe('VisitorSketch serialisation', () => {
  it.each([0, 1, 10, 2000, EXACT_LIMIT, EXACT_LIMIT + 1, 100_000])('round-trips %i visitors', (count) => {
    const sketch = sketchOf(keysFrom(0, count));
    const copy = VisitorSketch.fromBytes(sketch.toBytes());
    expect(copy.estimate()).toBe(sketch.estimate());
    expect(copy.toBytes()).toEqual(sketch.toBytes());
    // The copy keeps counting like the original.
    const more = keysFrom(150_000, 3000);
    for (const key of more) {
      copy.add(key);
      sketch.add(key);
    }
    expect(copy.toBytes()).toEqual(sketch.toBytes());
  });

  it('reads bytes that are a view into a larger buffer', () => {
    for (const count of [10, 10_000]) {
      const bytes = sketchOf(keysFrom(0, count)).toBytes();
      const larger = new Uint8Array(bytes.length + 7);
      larger.set(bytes, 3);
      expect(VisitorSketch.fromBytes(larger.subarray(3, 3 + bytes.length)).toBytes()).toEqual(bytes);
    }
  });

  it.each([
    ['empty', 0, HEADER_AND_CRC],
    ['10 visitors', 10, HEADER_AND_CRC + 10 * HASH_BYTES],
    ['1,000 visitors', 1000, HEADER_AND_CRC + 1000 * HASH_BYTES],
    ['2,048 visitors', EXACT_LIMIT, HEADER_AND_CRC + EXACT_LIMIT * HASH_BYTES],
  ])('takes 5 bytes a visitor while exact: %s', (_, count, size) => {
    expect(sketchOf(keysFrom(0, count)).toBytes().length).toBe(size);
  });

  it.each([EXACT_LIMIT + 1, 10_000, 200_000])('takes at most 6 KB once dense: %i visitors', (count) => {
    expect(sketchOf(keysFrom(0, count)).toBytes().length).toBeLessThanOrEqual(6 * 1024);
  });

  it('clone is independent of the original', () => {
    for (const count of [10, 10_000]) {
      const original = sketchOf(keysFrom(0, count));
      const before = original.toBytes();
      const copy = original.clone();
      for (const key of keysFrom(100_000, 5000)) copy.add(key);
      expect(original.toBytes()).toEqual(before);
      expect(copy.estimate()).toBeGreaterThan(original.estimate());
    }
  });
});

describe('VisitorSketch.fromBytes rejects what toBytes did not write', () => {
  const exact = sketchOf(keysFrom(0, 5)).toBytes();
  const dense = sketchOf(keysFrom(0, 5000)).toBytes();

  it.each([
    ['exact', exact],
    ['dense', dense],
  ])('%s: every single corrupted byte', (_, bytes) => {
    const accepted: number[] = [];
    for (let at = 0; at < bytes.length; at++) {
      const corrupt = bytes.slice();
      corrupt[at] ^= 0x10;
      try {
        VisitorSketch.fromBytes(corrupt);
        accepted.push(at);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidSketch);
      }
    }
    expect(accepted).toEqual([]);
  });

  it.each([
    ['exact', exact],
    ['dense', dense],
  ])('%s: truncations (every length up to 64, then every 61st), and trailing bytes', (_, bytes) => {
    for (let length = 0; length < bytes.length; length += length < 64 ? 1 : 61) {
      expect(() => VisitorSketch.fromBytes(bytes.subarray(0, length))).toThrow(InvalidSketch);
    }
    expect(() => VisitorSketch.fromBytes(bytes.subarray(0, bytes.length - 1))).toThrow(InvalidSketch);
    expect(() => VisitorSketch.fromBytes(new Uint8Array([...bytes, 0]))).toThrow(InvalidSketch);
  });

  const registers = (value: number, length = 16_384): Uint8Array => new Uint8Array(length).fill(value);
  const hashes = (...values: number[]): Uint8Array => {
    const body = Buffer.alloc(values.length * HASH_BYTES);
    values.forEach((value, i) => body.writeUIntBE(value, i * HASH_BYTES, HASH_BYTES));
    return new Uint8Array(body);
  };

  it.each<[string, Uint8Array]>([
    ['nothing', new Uint8Array(0)],
    ['JSON text', new TextEncoder().encode('{"type":"HyperLogLog","_registers":[0,0,0]}')],
    ['an unknown version', framed(2, 0, hashes(1, 2))],
    ['an unknown mode', framed(1, 2, hashes(1, 2))],
    ['exact hashes out of order', framed(1, 0, hashes(2, 1))],
    ['exact hashes repeated', framed(1, 0, hashes(1, 1))],
    ['a partial exact hash', framed(1, 0, hashes(1, 2).subarray(0, 7))],
    ['more exact hashes than the limit', framed(1, 0, hashes(...Array.from({ length: EXACT_LIMIT + 1 }, (_, i) => i)))],
    ['dense body that is not deflate', framed(1, 1, new Uint8Array([0xff, 0xff, 0xff, 0xff]))],
    ['dense body of too few registers', framed(1, 1, deflateRawSync(registers(1, 16_383)))],
    ['dense body of too many registers', framed(1, 1, deflateRawSync(registers(1, 16_385)))],
    ['a dense register above 27', framed(1, 1, deflateRawSync(registers(28)))],
  ])('%s', (_, bytes) => {
    expect(() => VisitorSketch.fromBytes(bytes)).toThrow(InvalidSketch);
  });

  it('accepts the same hand-made layouts when they are valid', () => {
    expect(VisitorSketch.fromBytes(framed(1, 0, hashes(1, 2, 2 ** 40 - 1))).estimate()).toBe(3);
    expect(VisitorSketch.fromBytes(framed(1, 1, deflateRawSync(registers(27)))).estimate()).toBeGreaterThan(0);
  });
});

describe('VisitorSketch.add', () => {
  it.each([
    ['upper-case hex', 'A'.repeat(64)],
    ['63 digits', 'a'.repeat(63)],
    ['65 digits', 'a'.repeat(65)],
    ['a non-hex digit', `${'a'.repeat(63)}g`],
    ['surrounding space', ` ${'a'.repeat(64)}`],
    ['a trailing newline', `${'a'.repeat(64)}\n`],
    ['the empty string', ''],
  ])('rejects %s', (_, key) => {
    const sketch = VisitorSketch.empty();
    expect(() => sketch.add(key)).toThrow(RangeError);
    expect(sketch.estimate()).toBe(0);
  });

  it('rejects a value that is not a string', () => {
    expect(() => VisitorSketch.empty().add(12 as unknown as string)).toThrow(RangeError);
  });
});
