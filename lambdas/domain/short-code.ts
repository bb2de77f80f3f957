/** Short codes: what a path segment must look like to be looked up, and how new ones are minted. */
import { randomSymbols } from './random-symbols';

export const SHORT_CODE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * First path segments the shortener serves itself, so no link may take them as its code. The one
 * place they are spelt: the stack's API route (lib/) and the local stack's control routes (local/)
 * are built from these names.
 */
export const OWN_PATH_SEGMENTS = {
  /** The admin API, `/api/...`. */
  api: 'api',
  /** The dashboard page, reserved ahead of it. */
  dashboard: 'dashboard',
  /** The local stack's control routes, `/_local/...`, which would shadow a link there. */
  localControl: '_local',
} as const;

/** Codes no link may take, in lower case; compared case-insensitively. */
export const RESERVED_CODES: ReadonlySet<string> = new Set(Object.values(OWN_PATH_SEGMENTS).map((segment) => segment.toLowerCase()));

export type CodeCheck = { ok: true; code: string } | { ok: false; error: string };

export const MIN_CUSTOM_CODE_LENGTH = 3;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function isReserved(code: string): boolean {
  return RESERVED_CODES.has(code.toLowerCase());
}

/** The code of a request path segment, or null when it cannot name a link. */
export function parseShortCode(raw: string | undefined): string | null {
  if (raw === undefined || !SHORT_CODE_PATTERN.test(raw) || isReserved(raw)) return null;
  return raw;
}

/** A code a caller asks for, with the rule it breaks when it is refused. */
export function checkCustomCode(input: unknown): CodeCheck {
  if (typeof input !== 'string') return { ok: false, error: 'The code must be a string.' };
  if (input.length < MIN_CUSTOM_CODE_LENGTH || !SHORT_CODE_PATTERN.test(input)) {
    return { ok: false, error: `The code must be ${MIN_CUSTOM_CODE_LENGTH} to 64 letters, digits, "-" or "_".` };
  }
  // "---" or "_-_" reads as no code at all, and is easily mistaken for a separator.
  if (!/[A-Za-z0-9]/.test(input)) return { ok: false, error: 'The code must contain a letter or a digit, not only "-" and "_".' };
  if (isReserved(input)) return { ok: false, error: `The code "${input}" is reserved: /${input.toLowerCase()} is one of the shortener's own paths.` };
  return { ok: true, code: input };
}

/** A random base62 code; randomBytes is injected (node:crypto in production) so tests can drive it. */
export function generateShortCode(randomBytes: (n: number) => Uint8Array, length = 7): string {
  if (!Number.isInteger(length) || length < 1 || length > 64) {
    throw new RangeError(`short code length must be an integer from 1 to 64, got ${length}`);
  }
  return randomSymbols(BASE62, length, randomBytes);
}
