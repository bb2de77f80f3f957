/**
 * Page cursors handed to clients: a JSON array in base64url, a token to them. Decoding checks the form
 * only; each caller checks every value, since a client can send anything back.
 */

/** A link's `createdAt` as cursors carry it (toISOString's form). */
export const CREATED_AT_PATTERN = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/;

export function encodePageCursor(values: readonly (string | number | null)[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

/** The `count` values of a cursor encodePageCursor made, or null for anything else (or anything over `maxLength` characters). */
export function decodePageCursor(cursor: string, count: number, maxLength: number): readonly unknown[] | null {
  if (cursor.length > maxLength || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  return Array.isArray(parsed) && parsed.length === count ? (parsed as unknown[]) : null;
}
