/**
 * Who is calling the API: an owner's key or a share token from the keys table, or the operators' admin
 * key (a plain value locally, a Secrets Manager secret on AWS). Owner keys and share tokens are counted
 * against a per-key limit per minute in DynamoDB, so every execution environment enforces the same one.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ADMIN_OWNER } from '../../contract';
import { matchesKeyHash, parseApiKey, sameSecret } from '../../domain/api-key';
import { secretsManagerClient } from '../../shared/clients/secrets-manager';
import type { ApiConfig, ApiKeySource } from '../../shared/config';
import { getOrCreate } from '../../shared/get-or-create';
import { findApiKey } from '../../tables/api-keys';
import { countRequest } from '../../tables/api-request-counts';

export interface Caller {
  /** Whose links and statistics the caller sees, and who owns the links it creates. */
  readonly owner: string;
  /** The admin key may also read and change any owner's link by its code. */
  readonly admin: boolean;
  /** The owner key's or share token's id; null for the admin key. */
  readonly keyId: string | null;
  /**
   * The code of the one link a share token reads (only that link and its statistics, only GET and
   * HEAD: api/shares.ts); null for owner and admin keys, which every route takes.
   */
  readonly sharedLink: string | null;
}

/** A rotated admin key is picked up within this many seconds. */
const ADMIN_KEY_CACHE_SECONDS = 300;
export const RATE_WINDOW_SECONDS = 60;

const secretsProviders = new Map<SecretsManagerClient, SecretsProvider>();

async function adminKey(source: ApiKeySource): Promise<string> {
  if (source.kind === 'value') return source.value;
  const client = secretsManagerClient();
  const provider = getOrCreate(secretsProviders, client, () => new SecretsProvider({ awsSdkV3Client: client }));
  const secret = await provider.get(source.secretArn, { maxAge: ADMIN_KEY_CACHE_SECONDS });
  // The secret's value is the key itself, as plain text.
  if (typeof secret !== 'string' || secret.trim() === '') {
    throw new Error('the API key secret has no string value');
  }
  return secret.trim();
}

/**
 * The caller a bearer token identifies, or null. Owner keys and share tokens are read from the keys
 * table on every request (strongly consistent), so a revoked one stops working at once. A share token
 * acts as the owner of its link, within its scope.
 */
export async function identifyCaller(token: string, config: ApiConfig): Promise<Caller | null> {
  const parsed = parseApiKey(token);
  if (parsed !== null) {
    const stored = await findApiKey(config.apiKeysTableName, parsed.keyId);
    // The hash covers the prefix, so a token of the other kind never matches; the kind check says so outright.
    if (stored !== null && stored.revokedAt === undefined && (stored.share !== undefined) === (parsed.kind === 'share') && matchesKeyHash(token, stored.keyHash)) {
      return { owner: stored.owner, admin: false, keyId: parsed.keyId, sharedLink: stored.share ?? null };
    }
  }
  return sameSecret(token, await adminKey(config.apiKey)) ? { owner: ADMIN_OWNER, admin: true, keyId: null, sharedLink: null } : null;
}

/**
 * Counts the request against its key's limit for the current minute: null when it may go on, else the
 * seconds until the next window. The admin key is not counted: operators are bounded by the stage's throttle.
 */
export async function rateLimited(caller: Caller, config: ApiConfig, nowMs: number): Promise<number | null> {
  if (caller.keyId === null) return null;
  const nowSeconds = Math.floor(nowMs / 1000);
  const windowStart = nowSeconds - (nowSeconds % RATE_WINDOW_SECONDS);
  const counted = await countRequest(config.apiRequestCountsTableName, caller.keyId, windowStart, RATE_WINDOW_SECONDS, config.requestsPerMinutePerKey);
  return counted ? null : windowStart + RATE_WINDOW_SECONDS - nowSeconds;
}
