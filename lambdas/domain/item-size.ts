/**
 * DynamoDB's item size, counted by its published rules for values as the DocumentClient takes them
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * a string is its UTF-8 bytes; a number about 1 byte per two significant digits plus 1 (numberBytes); a binary its raw
 * bytes; a boolean or null 1 byte; a map or list 3 bytes plus 1 byte per element plus the elements
 * (a map element counting its name too); an item the sum of its attribute names and values.
 * Wherever the page says "approximately" this rounds up, so the count is never below DynamoDB's.
 */

/** DynamoDB refuses to write an item larger than this (names and values together). */
export const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;

const MAP_OR_LIST_OVERHEAD_BYTES = 3;
const ELEMENT_OVERHEAD_BYTES = 1;

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * DynamoDB stores a number as base-100 digits aligned on the decimal point, plus a byte: 1200 is
 * 12|00, one digit once trailing zeros go, while 120 is 01|20, two (DynamoDB Local refuses items the
 * page's "1 byte per two significant digits" lets through, test/integration/local-emulators.test.ts).
 * Integers are counted exactly; for other numbers one byte more than the page's count covers the alignment.
 */
export function numberBytes(value: number): number {
  if (!Number.isFinite(value)) throw new TypeError(`DynamoDB cannot store the number ${value}`);
  if (Number.isSafeInteger(value)) {
    const digits = String(Math.abs(value));
    const aligned = digits.length % 2 === 1 ? `0${digits}` : digits;
    return Math.max(aligned.replace(/(?:00)+$/, '').length / 2, 1) + 1;
  }
  const [mantissa] = Math.abs(value).toExponential().split('e');
  const significant = mantissa.replace('.', '').replace(/0+$/, '').length || 1;
  return Math.ceil(significant / 2) + 2;
}

const isPlainObject = (value: object): boolean => {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/** The size of one attribute value (without its name); TypeError for what the DocumentClient would not write. */
export function valueBytes(value: unknown): number {
  if (typeof value === 'string') return utf8Bytes(value);
  if (typeof value === 'number') return numberBytes(value);
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) {
    return value.reduce((sum: number, element: unknown) => sum + ELEMENT_OVERHEAD_BYTES + valueBytes(element), MAP_OR_LIST_OVERHEAD_BYTES);
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    return MAP_OR_LIST_OVERHEAD_BYTES + mapElementsBytes(value as Readonly<Record<string, unknown>>, ELEMENT_OVERHEAD_BYTES);
  }
  throw new TypeError(`No DynamoDB size rule for a value of type ${typeof value}`);
}

/** One entry of a map attribute: its element overhead, name and value. */
export const mapEntryBytes = (name: string, value: unknown): number => ELEMENT_OVERHEAD_BYTES + utf8Bytes(name) + valueBytes(value);

/** Names and values of a map's entries, each with `overhead` bytes; undefined values are not written. */
function mapElementsBytes(map: Readonly<Record<string, unknown>>, overhead: number): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(map)) {
    if (value !== undefined) bytes += overhead + utf8Bytes(name) + valueBytes(value);
  }
  return bytes;
}

/** The size of an item: its attributes' names and values (top-level attributes carry no element overhead). */
export function itemBytes(item: Readonly<Record<string, unknown>>): number {
  return mapElementsBytes(item, 0);
}

/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that does not split a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const character of text) {
    const size = utf8Bytes(character);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += character.length;
  }
  return text.slice(0, end);
}
