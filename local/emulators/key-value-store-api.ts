/**
 * The CloudFront KeyValueStore data-plane API (REST-JSON, as @aws-sdk/client-cloudfront-keyvaluestore
 * serializes it) over one in-memory store, on 127.0.0.1: DescribeKeyValueStore, UpdateKeys, GetKey and
 * ListKeys. Like AWS it versions the store with an ETag that every write moves on, refuses an UpdateKeys
 * whose `If-Match` is not the current ETag (ConflictException) and one that would pass the store's total
 * size (ServiceQuotaExceededException), all or nothing; nothing is evicted (nor is it in the store). Signatures are
 * not verified, but a request must be signed with SigV4A, the only scheme the service accepts.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { utf8Bytes } from '../../lambdas/domain/edge-redirect';
import type { EdgeKeyValueStore } from '../edge/key-value-store';
import { isRecord, type Stoppable } from '../types';

/** UpdateKeys' quota of keys a request (docs/edge.md). */
const MAX_KEYS_PER_UPDATE = 50;
/** ListKeys' page size when the request names none, and the largest it accepts. */
const DEFAULT_LIST_PAGE = 10;
const MAX_LIST_PAGE = 50;
const SIGV4A_ALGORITHM = 'AWS4-ECDSA-P256-SHA256';

type ErrorName =
  | 'AccessDeniedException'
  | 'ConflictException'
  | 'InternalServerException'
  | 'ResourceNotFoundException'
  | 'ServiceQuotaExceededException'
  | 'ValidationException';

/** The HTTP status the SDK's error schemas bind to each error. */
const ERROR_STATUS: Readonly<Record<ErrorName, number>> = {
  AccessDeniedException: 403,
  ConflictException: 409,
  InternalServerException: 500,
  ResourceNotFoundException: 404,
  ServiceQuotaExceededException: 402,
  ValidationException: 400,
};

class ApiError extends Error {
  constructor(
    readonly errorName: ErrorName,
    message: string,
  ) {
    super(message);
  }
}

export interface KeyValueStoreApiOptions {
  readonly store: EdgeKeyValueStore;
  /** The store's ARN, `arn:aws:cloudfront::<account>:key-value-store/<id>`, the only one the API answers for. */
  readonly arn: string;
  /** Default: a free port. */
  readonly port?: number;
  /** Asked before each UpdateKeys is answered; `'unavailable'` answers it with an InternalServerException (fault injection). */
  readonly beforeUpdate?: () => 'unavailable' | undefined;
}

export interface KeyValueStoreApi extends Stoppable {
  /** http://127.0.0.1:P, for the client's endpoint variable (lambdas/shared/clients/key-value-store.ts). */
  readonly endpoint: string;
  /** The store's current ETag. */
  readonly etag: string;
  /** A write by another client of the store: the entry is stored and the ETag moves on. */
  writeAsAnotherClient(key: string, value: string): void;
}

interface KeyUpdate {
  readonly puts: readonly { readonly key: string; readonly value: string }[];
  readonly deletes: readonly string[];
}

function parseUpdate(body: unknown): KeyUpdate {
  if (!isRecord(body)) throw new ApiError('ValidationException', 'The request body must be a JSON object.');
  const list = (name: string): unknown[] => {
    const value = body[name];
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new ApiError('ValidationException', `${name} must be a list.`);
    return value;
  };
  const puts = list('Puts').map((item) => {
    if (!isRecord(item) || typeof item.Key !== 'string' || typeof item.Value !== 'string') {
      throw new ApiError('ValidationException', 'Each put needs a string Key and Value.');
    }
    return { key: item.Key, value: item.Value };
  });
  const deletes = list('Deletes').map((item) => {
    if (!isRecord(item) || typeof item.Key !== 'string') throw new ApiError('ValidationException', 'Each delete needs a string Key.');
    return item.Key;
  });
  return { puts, deletes };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startKeyValueStoreApi(options: KeyValueStoreApiOptions): Promise<KeyValueStoreApi> {
  const { store, arn } = options;
  const created = Date.now() / 1000;
  let lastModified = created;
  let version = 1;
  const etag = (): string => `ETVERSION${version}`;
  const moveOn = (): void => {
    version += 1;
    lastModified = Date.now() / 1000;
  };
  const totals = (): { ItemCount: number; TotalSizeInBytes: number } => ({ ItemCount: store.size, TotalSizeInBytes: store.bytes });

  function validateEntry(key: string, value: string | undefined): void {
    if (key.length === 0 || utf8Bytes(key) > store.limits.maxKeyBytes) {
      throw new ApiError('ValidationException', `Key must be 1 to ${store.limits.maxKeyBytes} bytes.`);
    }
    if (value !== undefined && utf8Bytes(value) > store.limits.maxValueBytes) {
      throw new ApiError('ValidationException', `Value of ${key} is over ${store.limits.maxValueBytes} bytes.`);
    }
  }

  /** All or nothing: checks the whole request against the limits, then writes it. */
  function updateKeys(ifMatch: string | undefined, update: KeyUpdate): void {
    if (ifMatch === undefined) throw new ApiError('ValidationException', 'If-Match is required.');
    if (ifMatch !== etag()) throw new ApiError('ConflictException', 'The key value store has changed: describe it for its current ETag.');
    if (update.puts.length + update.deletes.length > MAX_KEYS_PER_UPDATE) {
      throw new ApiError('ValidationException', `At most ${MAX_KEYS_PER_UPDATE} keys per request.`);
    }
    for (const key of update.deletes) validateEntry(key, undefined);
    for (const { key, value } of update.puts) validateEntry(key, value);
    const keys = [...update.deletes, ...update.puts.map(({ key }) => key)];
    if (new Set(keys).size !== keys.length) throw new ApiError('ValidationException', 'A key may appear once a request.');

    let totalAfter = store.bytes;
    for (const key of update.deletes) {
      const value = store.get(key);
      if (value !== undefined) totalAfter -= utf8Bytes(key) + utf8Bytes(value);
    }
    for (const { key, value } of update.puts) totalAfter += store.growth(key, value);
    if (totalAfter > store.limits.maxStoreBytes) {
      throw new ApiError('ServiceQuotaExceededException', 'The key value store would pass its maximum size.');
    }

    for (const key of update.deletes) store.delete(key);
    // Shrinking puts first: the total never passes its final value on the way, so the store takes each.
    const ordered = [...update.puts].sort((a, b) => store.growth(a.key, a.value) - store.growth(b.key, b.value));
    for (const { key, value } of ordered) store.put(key, value);
    moveOn();
  }

  async function answer(request: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: unknown }> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const authorization = request.headers.authorization ?? '';
    if (!authorization.startsWith(`${SIGV4A_ALGORITHM} `)) {
      throw new ApiError('AccessDeniedException', 'The CloudFront KeyValueStore API accepts only SigV4A signatures.');
    }
    const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    if (segments[0] !== 'key-value-stores' || segments.length < 2 || segments.length > 4 || (segments.length > 2 && segments[2] !== 'keys')) {
      throw new ApiError('ValidationException', `No operation at ${request.method ?? ''} ${url.pathname}.`);
    }
    if (segments[1] !== arn) throw new ApiError('ResourceNotFoundException', `No key value store ${segments[1] ?? ''}.`);
    const key = segments[3];

    if (request.method === 'GET' && segments.length === 2) {
      return {
        status: 200,
        headers: { etag: etag() },
        body: { ...totals(), KvsARN: arn, Created: created, LastModified: lastModified, Status: 'READY' },
      };
    }
    if (request.method === 'POST' && segments.length === 3) {
      const text = await readBody(request);
      let body: unknown;
      try {
        body = text === '' ? {} : JSON.parse(text);
      } catch {
        throw new ApiError('ValidationException', 'The request body is not JSON.');
      }
      if (options.beforeUpdate?.() === 'unavailable') throw new ApiError('InternalServerException', 'Injected fault.');
      const ifMatch = request.headers['if-match'];
      updateKeys(Array.isArray(ifMatch) ? ifMatch[0] : ifMatch, parseUpdate(body));
      return { status: 200, headers: { etag: etag() }, body: totals() };
    }
    if (request.method === 'GET' && key !== undefined) {
      const value = store.get(key);
      if (value === undefined) throw new ApiError('ResourceNotFoundException', `No key ${key}.`);
      return { status: 200, headers: {}, body: { Key: key, Value: value, ...totals() } };
    }
    if (request.method === 'GET' && segments.length === 3) {
      const requested = Number(url.searchParams.get('MaxResults') ?? DEFAULT_LIST_PAGE);
      if (!Number.isInteger(requested) || requested < 1 || requested > MAX_LIST_PAGE) {
        throw new ApiError('ValidationException', `MaxResults must be 1 to ${MAX_LIST_PAGE}.`);
      }
      const token = url.searchParams.get('NextToken');
      const after = token === null ? null : Buffer.from(token, 'base64url').toString('utf8');
      const remaining = store.sortedEntries().filter(([entryKey]) => after === null || entryKey > after);
      const page = remaining.slice(0, requested);
      const last = page.at(-1);
      return {
        status: 200,
        headers: {},
        body: {
          Items: page.map(([entryKey, value]) => ({ Key: entryKey, Value: value })),
          ...(remaining.length > page.length && last !== undefined ? { NextToken: Buffer.from(last[0], 'utf8').toString('base64url') } : {}),
        },
      };
    }
    throw new ApiError('ValidationException', `No operation at ${request.method ?? ''} ${url.pathname}.`);
  }

  function send(response: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
    response.end(text);
  }

  const server = createServer((request, response) => {
    answer(request).then(
      ({ status, headers, body }) => send(response, status, headers, body),
      (error: unknown) => {
        const apiError = error instanceof ApiError ? error : new ApiError('InternalServerException', String(error));
        // REST-JSON errors: the type in x-amzn-ErrorType, the message in the body, as the SDK reads them.
        send(response, ERROR_STATUS[apiError.errorName], { 'x-amzn-errortype': apiError.errorName }, { Message: apiError.message });
      },
    );
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`the KeyValueStore API did not report a TCP address (got ${String(address)})`);

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    get etag() {
      return etag();
    },
    writeAsAnotherClient(key, value) {
      store.put(key, value);
      moveOn();
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
