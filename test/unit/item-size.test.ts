import fc from 'fast-check';
import { DYNAMODB_MAX_ITEM_BYTES, itemBytes, numberBytes, truncateUtf8, utf8Bytes, valueBytes } from '../../lambdas/domain/item-size';

describe('DynamoDB item size', () => {
  it('counts strings in UTF-8 bytes', () => {
    expect(valueBytes('abc')).toBe(3);
    expect(valueBytes('é')).toBe(2);
    expect(valueBytes('€')).toBe(3);
    expect(valueBytes('😀')).toBe(4);
  });

  it.each([
    [0, 2],
    [7, 2],
    [10, 2],
    [100, 2],
    [120, 3],
    [1000, 2],
    [1200, 2],
    [12, 2],
    [123, 3],
    [1234, 3],
    [12345, 4],
    [-12345, 4],
    [0.5, 3],
    [-1.25, 4],
    [1e21, 3],
    [Number.MAX_SAFE_INTEGER, 9],
  ])('counts the number %p as %p bytes (base-100 digits aligned on the decimal point, plus 1)', (value, bytes) => {
    expect(numberBytes(value)).toBe(bytes);
  });

  it('counts binaries raw, booleans and null as 1 byte', () => {
    expect(valueBytes(new Uint8Array(10))).toBe(10);
    expect(valueBytes(true)).toBe(1);
    expect(valueBytes(null)).toBe(1);
  });

  it('counts a map as 3 bytes plus 1 byte, the name and the value of each element', () => {
    expect(valueBytes({})).toBe(3);
    expect(valueBytes({ ab: 'xyz' })).toBe(3 + 1 + 2 + 3);
    expect(valueBytes({ a: { b: 7 } })).toBe(3 + 1 + 1 + (3 + 1 + 1 + 2));
    expect(valueBytes(['x', 1])).toBe(3 + (1 + 1) + (1 + 2));
  });

  it('counts an item as its names and values, without element overhead, skipping undefined', () => {
    expect(itemBytes({ target: 'link#abc', clicks: 12, gone: undefined })).toBe(6 + 8 + 6 + 2);
  });

  it('refuses what the DocumentClient would not write', () => {
    expect(() => valueBytes(Number.NaN)).toThrow('cannot store the number NaN');
    expect(() => valueBytes(new Date())).toThrow('No DynamoDB size rule');
    expect(() => valueBytes(10n)).toThrow('No DynamoDB size rule');
  });

  it('knows DynamoDB’s limit', () => {
    expect(DYNAMODB_MAX_ITEM_BYTES).toBe(409_600);
  });
});

describe('truncateUtf8', () => {
  it('keeps text within the bound as it is', () => {
    expect(truncateUtf8('abc', 3)).toBe('abc');
  });

  it('never splits a character', () => {
    expect(truncateUtf8('aé', 2)).toBe('a');
    expect(truncateUtf8('😀😀', 7)).toBe('😀');
  });

  it('returns the longest whole-character prefix within the bound, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.nat({ max: 200 }), (text, maxBytes) => {
        const cut = truncateUtf8(text, maxBytes);
        expect(text.startsWith(cut)).toBe(true);
        expect(utf8Bytes(cut)).toBeLessThanOrEqual(maxBytes);
        if (cut !== text) {
          const next = String.fromCodePoint(text.codePointAt(cut.length) as number);
          expect(utf8Bytes(cut) + utf8Bytes(next)).toBeGreaterThan(maxBytes);
        }
      }),
    );
  });
});
