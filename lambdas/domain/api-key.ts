/**
 * API keys, of two kinds with one shape, `<prefix>_<id>_<secret>`:
 * - owner keys, `ck_…`, made by an operator (npm run keys): they reach all of their owner's links;
 * - share tokens, `cs_…`, made through the API for one link: they read that link and its statistics only.
 * The id (12 lowercase letters and digits) names the key in listings and in the keys table; the secret
 * (40 letters and digits, about 238 bits) is never stored: the table holds the SHA-256 of the whole key.
 * A key this random needs no slow hash: nobody can guess one from its digest, which is why GitHub and
 * Stripe store theirs the same way.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ADMIN_OWNER } from '../contract';
import { OWNER_PATTERN } from './click';
import { randomSymbols } from './random-symbols';

const KEY_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_ID_LENGTH = 12;
const SECRET_LENGTH = 40;
const KEY_PREFIXES = { owner: 'ck', share: 'cs' } as const;
export type ApiKeyKind = keyof typeof KEY_PREFIXES;
/** Keys with one of these prefixes (a regex alternation), the prefix and the id captured. */
const keyPattern = (prefixes: string): RegExp => new RegExp(`^(${prefixes})_([a-z0-9]{${KEY_ID_LENGTH}})_[A-Za-z0-9]{${SECRET_LENGTH}}$`);
const KEY_PATTERN = keyPattern(Object.values(KEY_PREFIXES).join('|'));
export const KEY_ID_PATTERN = new RegExp(`^[a-z0-9]{${KEY_ID_LENGTH}}$`);
/** The keys of one kind, whole: the OpenAPI document shows each kind's. */
export const apiKeyPattern = (kind: ApiKeyKind): RegExp => keyPattern(KEY_PREFIXES[kind]);

export interface NewApiKey {
  readonly keyId: string;
  /** Shown once to whoever created it; never stored. */
  readonly key: string;
  readonly keyHash: string;
}

/** What a token shaped like one of the keys above is. */
export interface ParsedApiKey {
  readonly kind: ApiKeyKind;
  readonly keyId: string;
}

/** A new key of that kind; randomBytes is node:crypto's in production, injected so tests can drive it. */
export function generateApiKey(kind: ApiKeyKind, randomBytes: (n: number) => Uint8Array): NewApiKey {
  const keyId = randomSymbols(KEY_ID_ALPHABET, KEY_ID_LENGTH, randomBytes);
  const key = `${KEY_PREFIXES[kind]}_${keyId}_${randomSymbols(SECRET_ALPHABET, SECRET_LENGTH, randomBytes)}`;
  return { keyId, key, keyHash: apiKeyHash(key) };
}

/** The kind and id of a token shaped exactly like a key, or null: anything else may still be the admin key. */
export function parseApiKey(token: string): ParsedApiKey | null {
  const match = KEY_PATTERN.exec(token);
  if (match === null) return null;
  return { kind: match[1] === KEY_PREFIXES.share ? 'share' : 'owner', keyId: match[2] };
}

/** Hex SHA-256 of the whole key, as the keys table stores it. */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Whether the token's hash is the stored one, compared in constant time. */
export function matchesKeyHash(token: string, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, 'hex');
  const provided = Buffer.from(apiKeyHash(token), 'hex');
  return stored.length === provided.length && timingSafeEqual(stored, provided);
}

/**
 * Hashing both sides first gives timingSafeEqual equal lengths and leaks nothing about the admin
 * key's length, which is whatever the operator chose.
 */
export function sameSecret(provided: string, expected: string): boolean {
  return timingSafeEqual(Buffer.from(apiKeyHash(provided), 'hex'), Buffer.from(apiKeyHash(expected), 'hex'));
}

/** An owner name for a new key, or the rule it breaks. The admin owner is the admin key's alone. */
export function checkOwnerName(input: string): { ok: true; owner: string } | { ok: false; error: string } {
  if (!OWNER_PATTERN.test(input)) return { ok: false, error: 'An owner is 1 to 128 letters, digits or "._@+-".' };
  if (input === ADMIN_OWNER) return { ok: false, error: `"${ADMIN_OWNER}" is the admin key's owner; choose another name.` };
  return { ok: true, owner: input };
}
