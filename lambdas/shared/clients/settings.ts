/**
 * What every AWS SDK client of the handlers shares, set in this one place: region, endpoint (set by
 * the local stack, unset in AWS), retries and timeouts. Each client lives in a module of its own,
 * so a function's bundle holds only the clients it uses.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { getOrCreate } from '../get-or-create';

// A redirect waits on DynamoDB: fail fast rather than hang, and let the SDK retry.
const CONNECTION_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 3_000;
const MAX_ATTEMPTS = 3;

export interface ClientSettings {
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly maxAttempts: number;
  /** The SDK's own request handler, configured by its options (no handler package of our own in the bundle). */
  readonly requestHandler: {
    readonly connectionTimeout: number;
    readonly requestTimeout: number;
    readonly httpAgent: HttpAgent;
    readonly httpsAgent: HttpsAgent;
  };
}

function settings(endpointVariable: string): ClientSettings {
  return {
    region: process.env.AWS_REGION,
    // Passed explicitly: fauxqs queue URLs name a host that does not resolve.
    endpoint: process.env[endpointVariable] || undefined,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      httpAgent: new HttpAgent({ keepAlive: true }),
      httpsAgent: new HttpsAgent({ keepAlive: true }),
    },
  };
}

/** One client per region and endpoint (see getOrCreate), created on first use. */
export function cachedBy<T>(create: (config: ClientSettings) => T, endpointVariable: string): () => T {
  const clients = new Map<string, T>();
  return () =>
    getOrCreate(clients, `${process.env.AWS_REGION ?? ''}|${process.env[endpointVariable] ?? ''}`, () => create(settings(endpointVariable)));
}
