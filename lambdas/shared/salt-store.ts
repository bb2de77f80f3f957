/**
 * The secret salt of the current visitor-key period, shared by every redirect instance
 * through the salts table (TTL destroys it a day after its period ends).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SaltPeriod } from '../contract';
import { saltPeriodOf } from '../domain/visitor';
import { dynamoDocumentClient, putIfAbsent } from './clients/dynamodb';

const SALT_BYTES = 32;
/** After the table failed, clicks use a process-local salt for this long before trying it again. */
const FALLBACK_RETRY_MS = 30_000;

/**
 * What a salt store does when the salts table cannot be read: the redirect uses a process-local
 * salt (a click is never lost to it); a consumer that can have its records retried fails them
 * instead, since a local salt would key the same visitor differently from every other instance.
 */
export type SaltUnavailable = 'use-local-salt' | 'reject';

export class SaltStore {
  /** One entry per period id (in practice only the current one), shared by concurrent callers. */
  readonly #salts = new Map<string, Promise<Uint8Array>>();
  readonly #fallbackSalts = new Map<string, Uint8Array>();

  constructor(
    private readonly tableName: string,
    private readonly logger: Logger,
    private readonly whenUnavailable: SaltUnavailable = 'use-local-salt',
  ) {}

  /** The salt for the period containing `at`; with 'use-local-salt' it never rejects (a click is never lost because of the salt). */
  current(at: Date, period: SaltPeriod): Promise<Uint8Array> {
    const { id, expiresAt } = saltPeriodOf(at, period);
    const cached = this.#salts.get(id);
    if (cached !== undefined) return cached;
    // A new period started: older salts must not outlive it in memory either.
    this.#salts.clear();
    const salt = this.#load(id, expiresAt);
    this.#salts.set(id, salt);
    return salt;
  }

  async #load(id: string, expiresAt: number): Promise<Uint8Array> {
    try {
      return (await this.#read(id)) ?? (await this.#create(id, expiresAt));
    } catch (error) {
      if (this.whenUnavailable === 'reject') {
        // The next caller tries the table again.
        this.#forget(id);
        throw error;
      }
      this.logger.warn('visitor salt table unavailable, using a process-local salt', {
        period: id,
        error: (error as Error).message,
      });
      setTimeout(() => this.#forget(id), FALLBACK_RETRY_MS).unref();
      return this.#fallbackSalt(id);
    }
  }

  #forget(id: string): void {
    this.#salts.delete(id);
  }

  async #read(id: string): Promise<Uint8Array | undefined> {
    const { Item } = await dynamoDocumentClient().send(
      new GetCommand({ TableName: this.tableName, Key: { period: id }, ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const salt: unknown = Item.salt;
    if (!(salt instanceof Uint8Array) || salt.length !== SALT_BYTES) {
      throw new Error(`salt item ${id} has no ${SALT_BYTES}-byte binary salt`);
    }
    return salt;
  }

  async #create(id: string, expiresAt: number): Promise<Uint8Array> {
    const salt = randomBytes(SALT_BYTES);
    const created = await putIfAbsent(this.tableName, 'period', { period: id, salt, expiresAt });
    if (created) return salt;
    // Another instance created it first: everyone must use that one.
    const winner = await this.#read(id);
    if (winner === undefined) throw new Error(`salt item ${id} vanished after a conditional put failed`);
    return winner;
  }

  #fallbackSalt(id: string): Uint8Array {
    let salt = this.#fallbackSalts.get(id);
    if (salt === undefined) {
      this.#fallbackSalts.clear();
      salt = randomBytes(SALT_BYTES);
      this.#fallbackSalts.set(id, salt);
    }
    return salt;
  }
}
