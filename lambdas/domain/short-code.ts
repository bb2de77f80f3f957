/** Short codes: what a path segment must look like to be looked up, and how new ones are minted. */

export const SHORT_CODE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Path segments the shortener itself routes (API, dashboard page), so no link may take them; compared case-insensitively. */
export const RESERVED_CODES: ReadonlySet<string> = new Set(['api', 'dashboard']);

const MIN_CUSTOM_CODE_LENGTH = 3;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Largest multiple of 62 below 256: bytes at or above it are rejected so every symbol is equally likely. */
const UNBIASED_BYTE_LIMIT = 256 - (256 % BASE62.length);

function isReserved(code: string): boolean {
  return RESERVED_CODES.has(code.toLowerCase());
}

/** The code of a request path segment, or null when it cannot name a link. */
export function parseShortCode(raw: string | undefined): string | null {
  if (raw === undefined || !SHORT_CODE_PATTERN.test(raw) || isReserved(raw)) return null;
  return raw;
}

export function isValidCustomCode(code: string): boolean {
  return code.length >= MIN_CUSTOM_CODE_LENGTH && SHORT_CODE_PATTERN.test(code) && !isReserved(code);
}

/** A random base62 code; randomBytes is injected (node:crypto in production) so tests can drive it. */
export function generateShortCode(randomBytes: (n: number) => Uint8Array, length = 7): string {
  if (!Number.isInteger(length) || length < 1 || length > 64) {
    throw new RangeError(`short code length must be an integer from 1 to 64, got ${length}`);
  }
  let code = '';
  while (code.length < length) {
    for (const byte of randomBytes(length - code.length)) {
      if (byte < UNBIASED_BYTE_LIMIT && code.length < length) code += BASE62[byte % BASE62.length];
    }
  }
  return code;
}
